#!/usr/bin/env bash
# localstack.sh runs the steps behind `make localstack-*`: start LocalStack,
# deploy the CDK app there with cdklocal, run the end-to-end suite against
# it, stop it. Each check that can fail for a reason outside the repository
# (no auth token, no Docker, LocalStack absent or not ready, a failed
# deploy) stops with one line saying what is missing and how to fix it;
# long tool output goes to localstack/.logs/ instead of the terminal.
#
#   localstack.sh up | wait | deploy | synth | test | down
#
# Environment (all optional):
#   LOCALSTACK_ENDPOINT  gateway URL (default http://localhost:${LOCALSTACK_PORT:-4566})
#   LOCALSTACK_WAIT      seconds `up`/`wait` wait for readiness (default 180)
#   LS_ARCH              Lambda architecture: x86_64 or arm64 (default: this machine's)
#   LS_FUNCTIONS         functions to deploy (default: those in functions/*/bootstrap)
#   LS_E2E_RUN           -run pattern for `test` (default: the whole suite)
#   LS_WORK              where builds, logs and outputs go (default localstack/)
#   LS_OUTPUTS           the CDK outputs file (default $LS_WORK/.outputs.json)
#   MAKE, GO             tools (default make, go)
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LS_DIR=$ROOT/localstack
COMPOSE_FILE=$LS_DIR/docker-compose.yml
# What the steps write; LS_WORK moves it elsewhere (the tests use a temp dir).
WORK=${LS_WORK:-$LS_DIR}
LOGS=$WORK/.logs
OUTPUTS=${LS_OUTPUTS:-$WORK/.outputs.json}
ASSEMBLY=$WORK/.cdk.out
BUILD=$WORK/.build
FFMPEG_DIR=$WORK/.ffmpeg
ENDPOINT=${LOCALSTACK_ENDPOINT:-http://localhost:${LOCALSTACK_PORT:-4566}}
ENDPOINT=${ENDPOINT%/}
WAIT=${LOCALSTACK_WAIT:-180}
MAKE=${MAKE:-make}
GO=${GO:-go}
STACK=Hlsflow
# Services the `local=true` stack needs; `ready` requires each to be up.
NEEDED_SERVICES="cloudformation s3 lambda sqs iam"

case "$(uname -m)" in
aarch64 | arm64) default_arch=arm64 ;;
*) default_arch=x86_64 ;;
esac
# The host's architecture by default: LocalStack runs each Lambda in a
# container of the function's architecture, and a foreign one needs qemu.
LS_ARCH=${LS_ARCH:-$default_arch}

cmd=${1:-}
step="localstack-$cmd"

# disp shortens a path inside the repository for messages.
disp() {
	case "$1" in
	"$ROOT"/*) printf '%s' "${1#"$ROOT"/}" ;;
	*) printf '%s' "$1" ;;
	esac
}

# die prints the one line and stops.
die() {
	echo "$step: $*" >&2
	exit 1
}

# first_error picks the most telling line of a tool's log: CDK's ❌ line,
# then a CloudFormation *_FAILED event, then any error, then the last line.
first_error() {
	local log=$1 line
	for pat in '❌' '_FAILED' '[Ee]rror'; do
		line=$(grep -m1 -e "$pat" "$log" 2>/dev/null) && break
	done
	[ -n "${line:-}" ] || line=$(grep -v '^[[:space:]]*$' "$log" 2>/dev/null | tail -n1)
	# One line, without ANSI colours, not endless.
	printf '%s' "$line" | sed -e 's/\x1b\[[0-9;]*m//g' -e 's/^[[:space:]]*//' | cut -c1-240
}

need_token() {
	[ -n "${LOCALSTACK_AUTH_TOKEN:-}" ] ||
		die "LOCALSTACK_AUTH_TOKEN is not set: LocalStack needs an auth token, also on the free plan; copy yours from https://app.localstack.cloud (Auth Tokens) and export LOCALSTACK_AUTH_TOKEN=..."
}

need_docker() {
	command -v docker >/dev/null 2>&1 ||
		die "docker is not installed: install Docker Engine (https://docs.docker.com/engine/install/) and retry"
	local err
	if ! err=$(timeout 15 docker info --format '{{.ServerVersion}}' 2>&1 >/dev/null); then
		err=$(printf '%s\n' "$err" | grep -v '^[[:space:]]*$' | tail -n1 | cut -c1-160)
		die "Docker is not running (${err:-docker info failed}): start it (e.g. sudo systemctl start docker) and retry"
	fi
	docker compose version >/dev/null 2>&1 ||
		die "the docker compose plugin is missing: install it (https://docs.docker.com/compose/install/linux/) and retry"
}

# health prints LocalStack's health JSON, or stops when nothing answers or
# what answers is not LocalStack (`hlsflow up` also listens on 4566).
health() {
	local out code
	out=$(curl -sS --max-time 3 -w '\n%{http_code}' "$ENDPOINT/_localstack/health" 2>/dev/null)
	code=${out##*$'\n'}
	out=${out%$'\n'*}
	case "$code" in
	000 | "")
		die "LocalStack is not answering at $ENDPOINT: start it with make localstack-up (needs Docker and LOCALSTACK_AUTH_TOKEN), or set LOCALSTACK_ENDPOINT"
		;;
	200)
		printf '%s' "$out" | grep -q '"services"' ||
			die "$ENDPOINT answers but is not LocalStack (no services in /_localstack/health): free the port (is hlsflow up running there?) or set LOCALSTACK_ENDPOINT"
		printf '%s' "$out"
		;;
	*)
		die "$ENDPOINT answers HTTP $code to /_localstack/health, so it is not LocalStack: free the port (is hlsflow up running there?) or set LOCALSTACK_ENDPOINT"
		;;
	esac
}

# not_ready prints what is not ready yet (empty when all is).
not_ready() {
	local h=$1 s state missing=""
	for s in $NEEDED_SERVICES; do
		state=$(printf '%s' "$h" | grep -o "\"$s\": *\"[a-z_]*\"" | sed 's/.*: *"\(.*\)"/\1/')
		case "$state" in
		running | available) ;;
		"") missing="$missing $s=absent" ;;
		*) missing="$missing $s=$state" ;;
		esac
	done
	if ! curl -fsS --max-time 3 "$ENDPOINT/_localstack/init/ready" 2>/dev/null | grep -q '"completed": *true'; then
		missing="$missing init-hooks=running"
	fi
	printf '%s' "${missing# }"
}

# ready stops unless LocalStack answers and is ready now.
ready() {
	local h missing
	h=$(health) || exit 1
	missing=$(not_ready "$h")
	[ -z "$missing" ] ||
		die "LocalStack at $ENDPOINT is not ready ($missing): wait for make localstack-up to finish, or see docker compose -f localstack/docker-compose.yml logs"
}

# wait_ready polls until LocalStack is ready, for at most $WAIT seconds.
wait_ready() {
	local deadline=$((SECONDS + WAIT)) h missing="gateway=not answering"
	while [ "$SECONDS" -lt "$deadline" ]; do
		# After `up`, a container that exits (a rejected auth token, say)
		# is reported at once instead of after the whole wait.
		if [ -n "${WATCH_CONTAINER:-}" ] &&
			[ "$(docker inspect -f '{{.State.Status}}' "$WATCH_CONTAINER" 2>/dev/null)" = exited ]; then
			die "LocalStack exited while starting: $(docker logs --tail 40 "$WATCH_CONTAINER" 2>&1 | grep -v '^[[:space:]]*$' | grep -m1 -iE 'licen|token|error' || echo 'see its log') (docker compose -f localstack/docker-compose.yml logs)"
		fi
		if h=$(curl -fsS --max-time 3 "$ENDPOINT/_localstack/health" 2>/dev/null); then
			missing=$(not_ready "$h")
			[ -z "$missing" ] && return 0
		fi
		sleep 2
	done
	die "LocalStack at $ENDPOINT did not become ready in $WAIT s ($missing): see docker compose -f localstack/docker-compose.yml logs"
}

# ffmpeg_bin unpacks the FFmpeg layer zip (static ffmpeg/ffprobe for the
# Lambda architecture) into localstack/.ffmpeg/bin, building it if missing.
ffmpeg_bin() {
	local zip=$ROOT/dist/layers/ffmpeg-$LS_ARCH.zip
	if [ ! -f "$zip" ]; then
		echo "building the FFmpeg layer for $LS_ARCH (make layer; takes a while once)"
		"$MAKE" -C "$ROOT" --no-print-directory layer ARCH="$LS_ARCH" >"$LOGS/layer.log" 2>&1 ||
			die "make layer ARCH=$LS_ARCH failed: $(first_error "$LOGS/layer.log") (log: $(disp "$LOGS/layer.log"))"
	fi
	if [ ! -x "$FFMPEG_DIR/bin/ffmpeg" ] || [ "$zip" -nt "$FFMPEG_DIR/bin/ffmpeg" ]; then
		rm -rf "$FFMPEG_DIR" && mkdir -p "$FFMPEG_DIR"
		(cd "$FFMPEG_DIR" && unzip -q "$zip") || die "unpack $zip failed: remove it and run make layer ARCH=$LS_ARCH"
		touch "$FFMPEG_DIR/bin/ffmpeg"
	fi
	[ -x "$FFMPEG_DIR/bin/ffmpeg" ] && [ -x "$FFMPEG_DIR/bin/ffprobe" ] ||
		die "$zip has no bin/ffmpeg and bin/ffprobe: rebuild it with make layer ARCH=$LS_ARCH"
}

# cdklocal runs the pinned cdklocal with Node 22 and LocalStack's endpoint.
cdklocal() {
	(
		cd "$ROOT/infra" &&
			PATH="$ROOT/infra/.tools/node_modules/.bin:$PATH" \
				AWS_ENDPOINT_URL="$ENDPOINT" AWS_ENDPOINT_URL_S3="$ENDPOINT" AWS_S3_FORCE_PATH_STYLE=1 \
				AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION="${AWS_REGION:-us-east-1}" \
				CDK_DEFAULT_ACCOUNT=000000000000 CDK_DEFAULT_REGION="${AWS_REGION:-us-east-1}" \
				"$LS_DIR/.tools/node_modules/.bin/cdklocal" "$@"
	)
}

# build makes what synth packages, under localstack/.build so that the
# functions built for LocalStack's architecture never replace the ones in
# dist/ that `make synth`/`make deploy` package for AWS.
build() {
	echo "building the functions ($LS_ARCH) and the CDK app"
	"$MAKE" -C "$ROOT" --no-print-directory setup-infra setup-localstack >"$LOGS/build.log" 2>&1 ||
		die "installing the CDK tools failed: $(first_error "$LOGS/build.log") (log: $(disp "$LOGS/build.log"))"
	local goarch=amd64 name
	[ "$LS_ARCH" = arm64 ] && goarch=arm64
	for name in $(functions | tr ',' ' '); do
		(cd "$ROOT" && CGO_ENABLED=0 GOOS=linux GOARCH=$goarch "$GO" build -tags lambda.norpc -trimpath -ldflags='-s -w' \
			-o "$BUILD/functions/$name/bootstrap" "./functions/$name/bootstrap") >>"$LOGS/build.log" 2>&1 ||
			die "build of function $name failed: $(first_error "$LOGS/build.log") (log: $(disp "$LOGS/build.log"))"
	done
	(cd "$ROOT" && "$GO" build -o "$BUILD/hlsflow-infra" ./infra) >>"$LOGS/build.log" 2>&1 ||
		die "build of the CDK app failed: $(first_error "$LOGS/build.log") (log: $(disp "$LOGS/build.log"))"
}

functions() {
	if [ -n "${LS_FUNCTIONS:-}" ]; then
		printf '%s' "$LS_FUNCTIONS"
		return
	fi
	local d names=""
	for d in "$ROOT"/functions/*/bootstrap; do
		[ -d "$d" ] && names="$names,$(basename "$(dirname "$d")")"
	done
	printf '%s' "${names#,}"
}

# synth writes the `local=true` cloud assembly to localstack/.cdk.out.
synth() {
	echo "cdklocal synth -c local=true (arch $LS_ARCH, functions $(functions))"
	rm -rf "$ASSEMBLY"
	cdklocal synth --quiet --app "$BUILD/hlsflow-infra" --output "$ASSEMBLY" \
		-c local=true -c arch="$LS_ARCH" -c functions="$(functions)" -c functionsDir="$BUILD/functions" -c removeData=true >"$LOGS/synth.log" 2>&1 ||
		die "cdklocal synth failed: $(first_error "$LOGS/synth.log") (log: $(disp "$LOGS/synth.log"))"
	[ -f "$ASSEMBLY/$STACK.template.json" ] ||
		die "cdklocal synth wrote no $STACK.template.json (log: $(disp "$LOGS/synth.log"))"
}

mkdir -p "$LOGS"
case "$cmd" in
up)
	need_token
	need_docker
	ffmpeg_bin
	echo "starting LocalStack ($ENDPOINT)"
	HLSFLOW_FFMPEG_BIN=$FFMPEG_DIR/bin docker compose -f "$COMPOSE_FILE" up -d >"$LOGS/up.log" 2>&1 ||
		die "docker compose up failed: $(first_error "$LOGS/up.log") (log: $(disp "$LOGS/up.log"))"
	WATCH_CONTAINER=${LOCALSTACK_DOCKER_NAME:-hlsflow-localstack} wait_ready
	echo "LocalStack is ready at $ENDPOINT; next: make localstack-deploy"
	;;
wait)
	wait_ready
	echo "LocalStack is ready at $ENDPOINT"
	;;
synth)
	build
	synth
	echo "cloud assembly in $(disp "$ASSEMBLY") ($(grep -c '"Type"' "$ASSEMBLY/$STACK.template.json") typed entries in $STACK.template.json)"
	;;
deploy)
	ready
	build
	synth
	echo "cdklocal bootstrap"
	cdklocal bootstrap --app "$ASSEMBLY" aws://000000000000/"${AWS_REGION:-us-east-1}" >"$LOGS/bootstrap.log" 2>&1 ||
		die "cdklocal bootstrap failed on LocalStack at $ENDPOINT: $(first_error "$LOGS/bootstrap.log") (log: $(disp "$LOGS/bootstrap.log"))"
	echo "cdklocal deploy $STACK"
	rm -f "$OUTPUTS"
	cdklocal deploy --app "$ASSEMBLY" --require-approval never --progress events --outputs-file "$OUTPUTS" "$STACK" >"$LOGS/deploy.log" 2>&1 ||
		die "stack $STACK failed to deploy on LocalStack: $(first_error "$LOGS/deploy.log") (log: $(disp "$LOGS/deploy.log"); make localstack-down && make localstack-up starts clean)"
	[ -s "$OUTPUTS" ] || die "cdklocal deploy wrote no outputs to $(disp "$OUTPUTS") (log: $(disp "$LOGS/deploy.log"))"
	echo "deployed; outputs in $(disp "$OUTPUTS"); next: make localstack-test"
	;;
test)
	[ -s "$OUTPUTS" ] || die "no stack outputs at $(disp "$OUTPUTS"): deploy first with make localstack-deploy"
	ready
	uploads=$(grep -o '"UploadsBucketName": *"[^"]*"' "$OUTPUTS" | sed 's/.*: *"\(.*\)"/\1/')
	[ -n "$uploads" ] || die "$(disp "$OUTPUTS") names no UploadsBucketName: redeploy with make localstack-deploy"
	code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -I "$ENDPOINT/$uploads")
	[ "$code" = 200 ] ||
		die "bucket $uploads from $(disp "$OUTPUTS") is not on LocalStack (HEAD: $code; restarted since the deploy?): run make localstack-deploy"
	echo "end-to-end suite against LocalStack at $ENDPOINT"
	cd "$ROOT" &&
		HLSFLOW_E2E_CDK_OUTPUTS=$OUTPUTS HLSFLOW_E2E_STACK=$STACK AWS_ENDPOINT_URL=$ENDPOINT \
			AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION="${AWS_REGION:-us-east-1}" \
			"$GO" test -count=1 -timeout 30m ${LS_E2E_RUN:+-run "$LS_E2E_RUN"} ./internal/e2e
	;;
down)
	need_docker
	HLSFLOW_FFMPEG_BIN=$FFMPEG_DIR/bin LOCALSTACK_AUTH_TOKEN=${LOCALSTACK_AUTH_TOKEN:-unused-for-down} \
		docker compose -f "$COMPOSE_FILE" down >"$LOGS/down.log" 2>&1 ||
		die "docker compose down failed: $(first_error "$LOGS/down.log") (log: $(disp "$LOGS/down.log"))"
	rm -f "$OUTPUTS"
	echo "LocalStack stopped"
	;;
*)
	echo "usage: localstack.sh up|wait|deploy|synth|test|down" >&2
	exit 2
	;;
esac
