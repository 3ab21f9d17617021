#!/usr/bin/env bash
# Measures the layer: zip and unpacked sizes, and the ladder encode speed of
# the layer's ffmpeg against Debian's /usr/bin/ffmpeg on the same input and
# arguments, runs interleaved in one go. Prints `name: value` lines.
#
#   layers/ffmpeg/bench.sh [dist/layers/ffmpeg-x86_64.zip]   (RUNS=3)
#
# Speed is compared on CPU time (user+sys), which the other jobs sharing the
# machine disturb far less than wall time; wall time is printed too.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
zip=${1:-$root/dist/layers/ffmpeg-x86_64.zip}
runs=${RUNS:-3}
input=${BENCH_INPUT:-$root/testdata/media/01_bbb_720p_h264_aac51.mp4}
debian=${DEBIAN_FFMPEG:-/usr/bin/ffmpeg}

if [ ! -f "$zip" ]; then
	echo "bench-layer: skipped: no $zip (build it with \`make layer\`)"
	exit 0
fi
[ -x "$debian" ] || { echo "bench-layer: $debian missing: apt-get install -y ffmpeg" >&2; exit 1; }
[ -f "$input" ] || { echo "bench-layer: input $input missing" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
unzip -q "$zip" -d "$tmp/layer"

mb() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }
echo "layer_zip_mb: $(mb "$(stat -c %s "$zip")")"
echo "layer_unzipped_mb: $(mb "$(du -sb "$tmp/layer" | cut -f1)")"
echo "layer_ffmpeg_mb: $(mb "$(stat -c %s "$tmp/layer/bin/ffmpeg")")"

# The ladder: a 720p source into 720p/480p/240p with audio, libx264
# veryfast, HLS out, as the transcode function does.
ladder() {
	local bin=$1 out=$2
	rm -rf "$out"
	mkdir -p "$out"
	"$bin" -nostdin -v error -y -i "$input" \
		-filter_complex "[0:v]split=3[a][b][c];[a]scale=-2:720[v0];[b]scale=-2:480[v1];[c]scale=-2:240[v2]" \
		-map "[v0]" -map 0:a -map "[v1]" -map 0:a -map "[v2]" -map 0:a \
		-c:v libx264 -preset veryfast -g 50 -c:a aac -ac 2 -b:a 128k \
		-f hls -hls_time 2 -hls_playlist_type vod -master_pl_name master.m3u8 \
		-var_stream_map "v:0,a:0 v:1,a:1 v:2,a:2" \
		-hls_segment_filename "$out/%v/seg%03d.ts" "$out/%v/index.m3u8"
}

# cpu runs one ladder and prints "cpu_seconds wall_seconds".
cpu() {
	local TIMEFORMAT='%U %S %R' t
	t=$( { time ladder "$1" "$tmp/out" >/dev/null 2>"$tmp/err"; } 2>&1) || {
		cat "$tmp/err" >&2
		return 1
	}
	awk '{ printf "%.3f %.3f\n", $1 + $2, $3 }' <<<"$t"
}

median() { sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

ladder "$tmp/layer/bin/ffmpeg" "$tmp/out" # warm the page cache
: >"$tmp/layer.txt"
: >"$tmp/debian.txt"
for _ in $(seq "$runs"); do
	cpu "$tmp/layer/bin/ffmpeg" >>"$tmp/layer.txt"
	cpu "$debian" >>"$tmp/debian.txt"
done
lc=$(cut -d' ' -f1 "$tmp/layer.txt" | median)
dc=$(cut -d' ' -f1 "$tmp/debian.txt" | median)
lw=$(cut -d' ' -f2 "$tmp/layer.txt" | median)
dw=$(cut -d' ' -f2 "$tmp/debian.txt" | median)
echo "layer_ladder_cpu_s: $lc"
echo "debian_ladder_cpu_s: $dc"
# > 1 means the layer is faster than Debian's build.
echo "layer_speed_vs_debian: $(awk -v l="$lc" -v d="$dc" 'BEGIN { printf "%.3f", d / l }')"
echo "layer_wall_vs_debian: $(awk -v l="$lw" -v d="$dw" 'BEGIN { printf "%.3f", d / l }')"
