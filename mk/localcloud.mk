# mk/localcloud.mk: the embedded local cloud (internal/localcloud: S3,
# S3 → Lambda events, Lambda Invoke API) and internal/testenv.

BENCH_TARGETS += bench-localcloud
SETUP_TARGETS += setup-localcloud

.PHONY: setup-localcloud bench-localcloud bench-localcloud-memory test-localcloud

# The tests use the local cloud from the S3 clients people use: the aws
# CLI and rclone (Debian packages awscli and rclone).
setup-localcloud: ## install the aws CLI and rclone with apt-get when missing
	$(call APT_MISSING,aws:awscli rclone:rclone)

bench-localcloud: ## up_ready_s: seconds from localcloud.Start until a PutObject succeeds (mean of 3; target <= 2)
	@$(GO) test -run '^$$' -bench '^BenchmarkUpReady$$' -benchtime 3x ./internal/localcloud/ \
		| grep -E '^up_ready_s: ' | tail -n 1

bench-localcloud-memory: ## peak RSS growth for a 256 MiB multipart upload through the local cloud
	@$(GO) test -run '^$$' -bench '^BenchmarkMultipartMemory$$' -benchtime 1x ./internal/localcloud/ \
		| grep -E '^multipart_256MiB_rss_growth_mib: ' | tail -n 1

test-localcloud: ## the local cloud's and testenv's tests alone
	$(GO) test -race ./internal/localcloud/... ./internal/testenv/...
