# localstack: deploy the real CDK app (`-c local=true`) to LocalStack with
# cdklocal and run the end-to-end suite against it (localstack/README.md).
#
#   make localstack-up       start LocalStack (Docker + LOCALSTACK_AUTH_TOKEN) and wait until ready
#   make localstack-deploy   cdklocal synth, bootstrap and deploy; outputs to localstack/.outputs.json
#   make localstack-test     the end-to-end suite against the deployed stack
#   make localstack-down     stop LocalStack
#
# Each stops with one line naming what is missing when LocalStack, Docker or
# the token is not there. The scripted steps live in localstack/localstack.sh.

LS_TOOLS  := localstack/.tools
LS_SCRIPT := localstack/localstack.sh

.PHONY: setup-localstack localstack-up localstack-wait localstack-deploy localstack-synth localstack-test localstack-down test-localstack

setup-localstack: ## install the pinned cdklocal (aws-cdk-local) and CDK CLI into localstack/.tools (npm ci), and curl/unzip
	$(call APT_MISSING,curl:curl unzip:unzip)
	@if [ ! -x $(LS_TOOLS)/node_modules/.bin/cdklocal ] || [ $(LS_TOOLS)/package-lock.json -nt $(LS_TOOLS)/node_modules/.package-lock.json ]; then \
		echo "npm ci in $(LS_TOOLS)"; \
		cd $(LS_TOOLS) && npm ci --no-audit --no-fund --loglevel=error; \
	fi

localstack-up: ## start LocalStack (needs Docker and LOCALSTACK_AUTH_TOKEN) and wait until it is ready
	@MAKE="$(MAKE)" GO="$(GO)" bash $(LS_SCRIPT) up

localstack-wait: ## wait (LOCALSTACK_WAIT s) until LocalStack answers and is ready
	@bash $(LS_SCRIPT) wait

localstack-synth: ## cdklocal synth of the CDK app with -c local=true into localstack/.cdk.out (offline)
	@MAKE="$(MAKE)" GO="$(GO)" bash $(LS_SCRIPT) synth

localstack-deploy: ## deploy the CDK app to LocalStack with cdklocal (-c local=true); outputs in localstack/.outputs.json
	@MAKE="$(MAKE)" GO="$(GO)" bash $(LS_SCRIPT) deploy

localstack-test: ## run the end-to-end suite against the stack deployed on LocalStack
	@GO="$(GO)" bash $(LS_SCRIPT) test

localstack-down: ## stop LocalStack
	@bash $(LS_SCRIPT) down

test-localstack: ## the localstack/ checks alone: compose file, cdklocal synth, the one-line errors
	$(GO) test -race -count=1 ./localstack/...
