# mk/localcloud.mk: the embedded local cloud (internal/localcloud: S3,
# S3 → Lambda events, Lambda Invoke API) and internal/testenv.

BENCH_TARGETS += bench-localcloud

.PHONY: bench-localcloud bench-localcloud-memory test-localcloud

bench-localcloud: ## up_ready_s: seconds from localcloud.Start until a PutObject succeeds (mean of 3; target <= 2)
	@$(GO) test -run '^$$' -bench '^BenchmarkUpReady$$' -benchtime 3x ./internal/localcloud/ \
		| grep -E '^up_ready_s: ' | tail -n 1

bench-localcloud-memory: ## peak RSS growth for a 256 MiB multipart upload through the local cloud
	@$(GO) test -run '^$$' -bench '^BenchmarkMultipartMemory$$' -benchtime 1x ./internal/localcloud/ \
		| grep -E '^multipart_256MiB_rss_growth_mib: ' | tail -n 1

test-localcloud: ## the local cloud's and testenv's tests alone
	$(GO) test -race ./internal/localcloud/... ./internal/testenv/...
