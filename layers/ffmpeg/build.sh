#!/usr/bin/env bash
# Builds the FFmpeg Lambda layer: a static ffmpeg and ffprobe with only what
# hlsflow needs, zipped reproducibly as dist/layers/ffmpeg-$ARCH.zip.
#
#   layers/ffmpeg/build.sh [x86_64|arm64] [--key]   (ARCH from the environment too)
#
# Sources are pinned in versions.sh and checked by SHA-256. Downloads are
# cached in ${XDG_CACHE_HOME:-~/.cache}/hlsflow/src, finished binaries in
# .../hlsflow/layers/<key> (key = pins, this script, toolchain versions), and
# the work tree in dist/layers/build/$ARCH, so a rebuild only repackages.
set -euo pipefail
# The libraries' own makes must not see an outer make's command-line
# variables: `make layer ARCH=arm64` (or ci-layer's ARCH=x86_64) reaches
# them through MAKEFLAGS and overrides what their configure chose (FFmpeg's
# ARCH=aarch64 or x86), so no assembly is built and the link fails.
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=versions.sh
. "$here/versions.sh"

ARCH=${1:-${ARCH:-x86_64}}
JOBS=${JOBS:-2}
cache=${HLSFLOW_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hlsflow}
dist=${DIST:-$root/dist}
out=$dist/layers/ffmpeg-$ARCH.zip
work=$dist/layers/build/$ARCH
# 1980-01-01: the earliest time a zip entry can hold.
export SOURCE_DATE_EPOCH=315532800
export TZ=UTC LC_ALL=C

say() { echo "layer: $*" >&2; }
die() { echo "layer: error: $*" >&2; exit 1; }

case $ARCH in
x86_64)
	triplet=x86_64-linux-gnu
	cross=""
	libc=/usr/lib/x86_64-linux-gnu/libc.a
	;;
arm64 | aarch64)
	ARCH=arm64
	out=$dist/layers/ffmpeg-$ARCH.zip
	work=$dist/layers/build/$ARCH
	triplet=aarch64-linux-gnu
	cross=aarch64-linux-gnu-
	libc=/usr/aarch64-linux-gnu/lib/libc.a
	;;
*) die "unknown ARCH $ARCH (want x86_64 or arm64)" ;;
esac
if [ -n "$cross" ]; then
	debarch=arm64
else
	debarch=amd64
fi

# need_tools names every missing tool with the apt-get line that installs it.
need_tools() {
	local missing=() pkgs=() tool pkg
	while [ $# -gt 0 ]; do
		tool=$1 pkg=$2
		shift 2
		case $tool in
		/*) [ -e "$tool" ] && continue ;;
		*) command -v "$tool" >/dev/null 2>&1 && continue ;;
		esac
		missing+=("$tool")
		pkgs+=("$pkg")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		if [ -n "$cross" ]; then
			echo "layer: arm64 libraries need the architecture enabled first: dpkg --add-architecture arm64 && apt-get update" >&2
		fi
		die "missing build tools: ${missing[*]}
  install them with: apt-get install -y ${pkgs[*]}"
	fi
}

need_tools \
	make make \
	nasm nasm \
	meson meson \
	ninja ninja-build \
	patch patch \
	pkg-config pkg-config \
	xz xz-utils \
	zip zip \
	sha256sum coreutils \
	cmake cmake \
	"${cross}gcc" "$([ -n "$cross" ] && echo gcc-aarch64-linux-gnu || echo gcc)" \
	"${cross}g++" "$([ -n "$cross" ] && echo g++-aarch64-linux-gnu || echo g++)" \
	"${cross}strip" "$([ -n "$cross" ] && echo binutils-aarch64-linux-gnu || echo binutils)" \
	"/usr/lib/$triplet/libmbedtls.a" "libmbedtls-dev:$debarch" \
	"/usr/lib/$triplet/libz.a" "zlib1g-dev:$debarch" \
	"$libc" "$([ -n "$cross" ] && echo libc6-dev-arm64-cross || echo libc6-dev)"

# fetch puts a pinned tarball in the source cache and checks its SHA-256.
# It tries the cache, then `apt-get source` (Debian's exact package), then
# the URLs; a file that does not match the pin stops the build.
fetch() {
	local name=$1 file=$2 sum=$3 debver=$4 urls=$5 got
	mkdir -p "$cache/src"
	if [ ! -f "$cache/src/$file" ]; then
		say "fetching $file"
		(cd "$cache/src" && apt-get source --download-only -qq "$name=$debver" >/dev/null 2>&1) || true
		if [ ! -f "$cache/src/$file" ]; then
			for url in $urls; do
				if curl -fsSL --retry 2 -o "$cache/src/$file.part" "$url"; then
					mv "$cache/src/$file.part" "$cache/src/$file"
					break
				fi
			done
		fi
		[ -f "$cache/src/$file" ] || die "cannot download $file: add a deb-src line for Debian bookworm (then apt-get update) or put the file in $cache/src/"
	fi
	got=$(sha256sum "$cache/src/$file" | cut -d' ' -f1)
	if [ "$got" != "$sum" ]; then
		die "checksum mismatch for $cache/src/$file
  got  sha256 $got
  want sha256 $sum (pinned in layers/ffmpeg/versions.sh)
  the file is corrupt or not the pinned release; delete it to download again"
	fi
}

# toolchain lists what goes into the binaries besides the pinned sources,
# so a new compiler or library version gets a new cache key.
toolchain() {
	dpkg-query -W -f '${Package} ${Version}\n' nasm "libmbedtls-dev:$debarch" "zlib1g-dev:$debarch" 2>/dev/null || true
	"${cross}gcc" --version | head -1
	"${cross}ld" --version | head -1
}

# cxx_toolchain adds what the CMake builds (x265, SVT-AV1) use as well.
cxx_toolchain() {
	toolchain
	dpkg-query -W -f '${Package} ${Version}\n' cmake 2>/dev/null || true
	"${cross}g++" --version | head -1
	[ -z "$cross" ] || cat "$here/cmake-$ARCH.toolchain"
}

# keyed drops this checkout's path from flags that name files in it, so
# that every clone of the repository computes the same cache key (CI
# builds in a fresh temporary clone each time).
keyed() { sed "s|$here/||g"; }

configure_flags() {
	# Inputs people upload, and nothing that makes an input open other
	# inputs (no hls/concat/image2 demuxers, no dash, no playlists).
	# The codecs internal/media's probe accepts (videoCodecs, audioCodecs).
	local decoders=(
		h264 hevc vp8 vp9 mpeg1video mpeg2video mpeg4 msmpeg4v3 h263 flv prores dnxhd theora vc1 wmv3
		dvvideo ffv1 qtrle mjpeg png
		aac aac_latm mp3 mp3float mp2 mp2float opus vorbis ac3 eac3 flac alac dca truehd mlp
		libdav1d wmav2 amrnb amrwb
		pcm_s8 pcm_u8 pcm_s16le pcm_s16be pcm_u16le pcm_u16be pcm_s24le pcm_s24be pcm_s32le pcm_s32be
		pcm_s64le pcm_f32le pcm_f32be pcm_f64le pcm_f64be pcm_alaw pcm_mulaw
	)
	local demuxers=(mov matroska mpegts flv live_flv avi mpegps mpegvideo wav aiff mp3 aac ac3 eac3 flac ogg h264 hevc)
	local parsers=(h264 hevc vp8 vp9 mpegvideo mpeg4video vc1 dnxhd aac aac_latm ac3 mpegaudio opus vorbis flac png mjpeg dca mlp)
	local muxers=(hls mp4 mov ipod mpegts image2 image2pipe mjpeg adts segment null)
	# wrapped_avframe and pcm_s16le are what `-f null` encodes to.
	local encoders=(libx264 libx265 libsvtav1 aac mjpeg png wrapped_avframe pcm_s16le)
	local filters=(
		scale split fps format null setsar setdar setpts settb trim transpose hflip vflip pad tpad crop
		yadif select thumbnail tile showinfo
		aresample asplit aformat anull asetpts asettb atrim apad pan channelmap volume amix
		anullsrc color testsrc sine
	)
	# noise drops chunked audio's pre- and post-roll packets by number
	# (internal/encoder's AudioTrim).
	local bsfs=(h264_mp4toannexb hevc_mp4toannexb aac_adtstoasc extract_extradata vp9_superframe mpeg4_unpack_bframes null noise)
	local f=(
		--disable-everything --disable-autodetect --disable-doc --disable-ffplay
		--disable-debug --disable-shared --enable-static --disable-postproc
		--enable-gpl --enable-version3 --enable-libx264 --enable-libx265 --enable-libsvtav1 --enable-libdav1d
		--enable-mbedtls --enable-zlib
		--enable-pthreads --enable-avdevice --enable-indev=lavfi
		--pkg-config-flags=--static --extra-ldflags=-static --extra-version=hlsflow
		--enable-protocol=file,pipe,http,https,tcp,tls
	)
	local IFS=,
	f+=("--enable-decoder=${decoders[*]}" "--enable-demuxer=${demuxers[*]}"
		"--enable-parser=${parsers[*]}" "--enable-muxer=${muxers[*]}"
		"--enable-encoder=${encoders[*]}" "--enable-filter=${filters[*]}"
		"--enable-bsf=${bsfs[*]}")
	if [ -n "$cross" ]; then
		f+=(--enable-cross-compile --arch=aarch64 --target-os=linux "--cross-prefix=$cross" --pkg-config=pkg-config)
	fi
	printf '%s\n' "${f[@]}"
}

x264_flags() {
	printf '%s\n' --enable-static --disable-cli --disable-opencl --bit-depth=8 --disable-avs \
		--disable-swscale --disable-lavf --disable-ffms --disable-gpac --disable-lsmash --enable-pic
	[ -z "$cross" ] || printf '%s\n' "--host=$triplet" "--cross-prefix=$cross"
}

dav1d_flags() {
	printf '%s\n' --default-library=static --buildtype=release -Db_ndebug=if-release --libdir=lib \
		-Denable_tools=false -Denable_tests=false -Denable_examples=false -Dlogging=false
	[ -z "$cross" ] || printf '%s\n' "--cross-file=$here/meson-$ARCH.cross"
}

# x265: the 8-bit library only (Main, Main Still Picture profiles; 10-bit
# would be a second build linked in), no CLI, no libnuma, with assembly
# (nasm on x86_64, NEON on arm64).
x265_flags() {
	printf '%s\n' -DCMAKE_BUILD_TYPE=Release -DENABLE_SHARED=OFF -DENABLE_CLI=OFF -DENABLE_LIBNUMA=OFF \
		-DENABLE_PIC=ON -DENABLE_ASSEMBLY=ON -DHIGH_BIT_DEPTH=OFF -DENABLE_HDR10_PLUS=OFF -DENABLE_LIBVMAF=OFF
	[ -z "$cross" ] || printf '%s\n' "-DCMAKE_TOOLCHAIN_FILE=$here/cmake-$ARCH.toolchain"
}

# SVT-AV1: the encoder library only. On x86_64 with its SSE2 to AVX2
# kernels (nasm; AVX-512 is off by default); 1.4.1 has no arm64 SIMD, so
# arm64 is plain C. HAVE_VALGRIND_H is fixed so that whether the build
# machine has valgrind installed does not change the binary. On arm64 it is
# built as position-dependent code: its ~1700 function-pointer globals as
# PIC (which its CMakeLists forces) or PIE (gcc's default) each take a GOT
# entry, and with FFmpeg's, dav1d's and x264's the static link then passes
# the 4096 entries that glibc's libm.a (built -fpic) can reach.
svtav1_flags() {
	printf '%s\n' -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF -DBUILD_APPS=OFF -DBUILD_DEC=OFF \
		-DBUILD_TESTING=OFF -DEXCLUDE_HASH=ON -DREPRODUCIBLE_BUILDS=ON -DCMAKE_INSTALL_LIBDIR=lib -DHAVE_VALGRIND_H=OFF
	if [ -n "$cross" ]; then
		printf '%s\n' "-DCMAKE_TOOLCHAIN_FILE=$here/cmake-$ARCH.toolchain" \
			-DCMAKE_POSITION_INDEPENDENT_CODE=OFF "-DCMAKE_C_FLAGS_RELEASE=-O3 -DNDEBUG -fno-pie"
	else
		printf '%s\n' -DENABLE_NASM=ON
	fi
}

# The cache key covers everything that goes into the binaries, and nothing
# else: editing packaging or messages does not force a rebuild.
dav1d_key=$( {
	echo "$ARCH $DAV1D_VERSION $DAV1D_SHA256 $DAV1D_DEBIAN_SHA256"
	dav1d_flags | keyed
	[ -z "$cross" ] || cat "$here/meson-$ARCH.cross"
	toolchain
	dpkg-query -W -f '${Package} ${Version}\n' meson ninja-build 2>/dev/null || true
} | sha256sum | cut -c1-16)
x264_key=$( {
	echo "$ARCH $X264_VERSION $X264_SHA256"
	x264_flags
	toolchain
} | sha256sum | cut -c1-16)
x265_key=$( {
	echo "$ARCH $X265_VERSION $X265_SHA256 $X265_DEBIAN_SHA256"
	x265_flags | keyed
	cxx_toolchain
} | sha256sum | cut -c1-16)
svtav1_key=$( {
	echo "$ARCH $SVTAV1_VERSION $SVTAV1_SHA256"
	svtav1_flags | keyed
	cxx_toolchain
} | sha256sum | cut -c1-16)
key=$( {
	echo "$x264_key $dav1d_key $x265_key $svtav1_key"
	grep -v '^#' "$here/versions.sh"
	configure_flags
} | sha256sum | cut -c1-16)
bins=$cache/layers/ffmpeg-$ARCH-$key
# `build.sh ARCH --key` prints the cache key (for CI caches) and stops.
if [ "${2:-}" = --key ]; then
	echo "$key"
	exit 0
fi

build_x264() {
	local src=$work/x264 prefix=$work/x264-prefix
	[ -f "$prefix/.done-$x264_key" ] && return
	fetch x264 "$X264_TARBALL" "$X264_SHA256" "$X264_DEBIAN_VERSION" "$X264_URLS"
	rm -rf "$src" "$prefix"
	mkdir -p "$src"
	tar -xzf "$cache/src/$X264_TARBALL" -C "$src" --strip-components=1
	say "building x264 $X264_VERSION for $ARCH"
	local flags
	mapfile -t flags < <(x264_flags)
	# Built inside its own tree (relative source paths) so no absolute
	# path ends up in the objects.
	(cd "$src" && ./configure --prefix="$prefix" "${flags[@]}" >"$work/x264-configure.log" 2>&1) ||
		die "x264 configure failed, see $work/x264-configure.log"
	(cd "$src" && make -j"$JOBS" >"$work/x264-make.log" 2>&1 && make install >>"$work/x264-make.log" 2>&1) ||
		die "x264 build failed, see $work/x264-make.log"
	touch "$prefix/.done-$x264_key"
}

build_dav1d() {
	local src=$work/dav1d prefix=$work/dav1d-prefix flags p
	[ -f "$prefix/.done-$dav1d_key" ] && return
	fetch dav1d "$DAV1D_TARBALL" "$DAV1D_SHA256" "$DAV1D_DEBIAN_VERSION" "$DAV1D_URLS"
	fetch dav1d "$DAV1D_DEBIAN_TARBALL" "$DAV1D_DEBIAN_SHA256" "$DAV1D_DEBIAN_VERSION" "$DAV1D_DEBIAN_URLS"
	rm -rf "$src" "$prefix"
	mkdir -p "$src"
	tar -xJf "$cache/src/$DAV1D_TARBALL" -C "$src" --strip-components=1
	tar -xJf "$cache/src/$DAV1D_DEBIAN_TARBALL" -C "$src"
	# Debian's patches, in its order (the security fixes of the package).
	while read -r p; do
		case $p in '' | '#'*) continue ;; esac
		(cd "$src" && patch -p1 -s <"debian/patches/$p") || die "dav1d: patch $p does not apply"
	done <"$src/debian/patches/series"
	say "building dav1d $DAV1D_VERSION ($DAV1D_DEBIAN_VERSION) for $ARCH"
	mapfile -t flags < <(dav1d_flags)
	# The build folder inside the tree: relative source paths, as for x264.
	(cd "$src" && meson setup build --prefix="$prefix" "${flags[@]}" >"$work/dav1d-configure.log" 2>&1) ||
		die "dav1d configure failed, see $work/dav1d-configure.log"
	(cd "$src" && ninja -C build -j"$JOBS" install >"$work/dav1d-make.log" 2>&1) ||
		die "dav1d build failed, see $work/dav1d-make.log"
	touch "$prefix/.done-$dav1d_key"
}

# cmake_build configures, builds and installs one CMake library in its own
# tree. Source paths in __FILE__ (SVT-AV1's allocation-failure messages)
# are mapped to ".", so the work tree's location is not in the binaries.
cmake_build() {
	local name=$1 src=$2 prefix=$3 dir=$4
	shift 4
	(cd "$src" && cmake -S "$dir" -B build -DCMAKE_INSTALL_PREFIX="$prefix" \
		-DCMAKE_C_FLAGS="-ffile-prefix-map=$src=." -DCMAKE_CXX_FLAGS="-ffile-prefix-map=$src=." \
		"$@" >"$work/$name-configure.log" 2>&1) ||
		die "$name configure failed, see $work/$name-configure.log"
	(cd "$src" && cmake --build build -j "$JOBS" >"$work/$name-make.log" 2>&1 &&
		cmake --install build >>"$work/$name-make.log" 2>&1) ||
		die "$name build failed, see $work/$name-make.log"
}

build_x265() {
	local src=$work/x265 prefix=$work/x265-prefix flags p
	[ -f "$prefix/.done-$x265_key" ] && return
	fetch x265 "$X265_TARBALL" "$X265_SHA256" "$X265_DEBIAN_VERSION" "$X265_URLS"
	fetch x265 "$X265_DEBIAN_TARBALL" "$X265_DEBIAN_SHA256" "$X265_DEBIAN_VERSION" "$X265_DEBIAN_URLS"
	rm -rf "$src" "$prefix"
	mkdir -p "$src"
	tar -xzf "$cache/src/$X265_TARBALL" -C "$src" --strip-components=1
	tar -xJf "$cache/src/$X265_DEBIAN_TARBALL" -C "$src"
	while read -r p; do
		case $p in '' | '#'*) continue ;; esac
		(cd "$src" && patch -p1 -s <"debian/patches/$p") || die "x265: patch $p does not apply"
	done <"$src/debian/patches/series"
	say "building x265 $X265_VERSION ($X265_DEBIAN_VERSION) for $ARCH"
	mapfile -t flags < <(x265_flags)
	cmake_build x265 "$src" "$prefix" source "${flags[@]}"
	# CMake lists the compiler's implicit libraries, -lgcc_s among them;
	# a static link has no libgcc_s (gcc -static brings libgcc_eh itself).
	sed -i 's/ -lgcc_s//g' "$prefix/lib/pkgconfig/x265.pc"
	touch "$prefix/.done-$x265_key"
}

build_svtav1() {
	local src=$work/svt-av1 prefix=$work/svtav1-prefix flags
	[ -f "$prefix/.done-$svtav1_key" ] && return
	fetch svt-av1 "$SVTAV1_TARBALL" "$SVTAV1_SHA256" "$SVTAV1_DEBIAN_VERSION" "$SVTAV1_URLS"
	rm -rf "$src" "$prefix"
	mkdir -p "$src"
	tar -xJf "$cache/src/$SVTAV1_TARBALL" -C "$src" --strip-components=1
	# See svtav1_flags: no forced PIC on arm64.
	[ -z "$cross" ] || sed -i '/^set(CMAKE_POSITION_INDEPENDENT_CODE ON)$/d' "$src/CMakeLists.txt"
	say "building SVT-AV1 $SVTAV1_VERSION for $ARCH"
	mapfile -t flags < <(svtav1_flags)
	cmake_build svtav1 "$src" "$prefix" . "${flags[@]}"
	touch "$prefix/.done-$svtav1_key"
}

build_ffmpeg() {
	local src=$work/ffmpeg flags
	[ -f "$src/.done-$key" ] && return
	say "building ffmpeg $FFMPEG_VERSION for $ARCH (minutes on 2 idle cores)"
	mapfile -t flags < <(configure_flags)
	# x264 and dav1d come in through pkg-config so their paths are not in
	# the configuration string that `ffmpeg -version` prints.
	local pc=$work/x264-prefix/lib/pkgconfig:$work/dav1d-prefix/lib/pkgconfig
	pc=$pc:$work/x265-prefix/lib/pkgconfig:$work/svtav1-prefix/lib/pkgconfig
	if [ -n "$cross" ]; then
		export PKG_CONFIG_LIBDIR=$pc:/usr/lib/$triplet/pkgconfig:/usr/share/pkgconfig
	else
		export PKG_CONFIG_PATH=$pc
	fi
	# A tree configured with the same key resumes where an interrupted
	# build stopped; anything else starts from a fresh copy of the source.
	if [ ! -f "$src/.configured-$key" ]; then
		fetch ffmpeg "$FFMPEG_TARBALL" "$FFMPEG_SHA256" "$FFMPEG_DEBIAN_VERSION" "$FFMPEG_URLS"
		rm -rf "$src"
		mkdir -p "$src"
		tar -xJf "$cache/src/$FFMPEG_TARBALL" -C "$src" --strip-components=1
		(cd "$src" && ./configure "${flags[@]}" >"$work/ffmpeg-configure.log" 2>&1) ||
			die "ffmpeg configure failed, see $work/ffmpeg-configure.log and $src/ffbuild/config.log"
		touch "$src/.configured-$key"
	fi
	(cd "$src" && make -j"$JOBS" ffmpeg ffprobe >"$work/ffmpeg-make.log" 2>&1) ||
		die "ffmpeg build failed, see $work/ffmpeg-make.log"
	touch "$src/.done-$key"
}

licences() {
	local d=$1 src=$work
	mkdir -p "$d"
	cat >"$d/README" <<EOF
This layer holds ffmpeg and ffprobe from FFmpeg $FFMPEG_VERSION, statically
linked with x264 $X264_VERSION, x265 $X265_VERSION, SVT-AV1 $SVTAV1_VERSION,
dav1d $DAV1D_VERSION, Mbed TLS, zlib, the GNU C Library and the GNU C++
library (libstdc++, for x265), built by hlsflow's layers/ffmpeg/build.sh.

Because it includes x264 and x265 (GPL-2.0-or-later) and Mbed TLS
(Apache-2.0, which FFmpeg treats as needing --enable-version3), the
binaries as a whole are distributed under the GNU General Public License
version 3 or later (COPYING.GPLv3). The other licences apply to their parts.

Corresponding source: Debian bookworm source packages ffmpeg
$FFMPEG_DEBIAN_VERSION (upstream tarball, sha256 $FFMPEG_SHA256),
x264 $X264_DEBIAN_VERSION (sha256 $X264_SHA256), x265
$X265_DEBIAN_VERSION (upstream tarball, sha256 $X265_SHA256, with the
package's debian/patches, sha256 $X265_DEBIAN_SHA256), svt-av1
$SVTAV1_DEBIAN_VERSION (sha256 $SVTAV1_SHA256) and dav1d
$DAV1D_DEBIAN_VERSION (upstream tarball, sha256 $DAV1D_SHA256, with the
package's debian/patches, sha256 $DAV1D_DEBIAN_SHA256), and the Debian
packages mbedtls, zlib, glibc and gcc-12 (libstdc++); the build script is
in the hlsflow repository.

x265 is under the GPL version 2 or later (x265-COPYING). SVT-AV1 is under
the BSD 3-Clause Clear licence (SVT-AV1-LICENSE.md) and the Alliance for
Open Media Patent License 1.0 (SVT-AV1-PATENTS.md); the parts of it from
third parties under their own (SVT-AV1-fastfeat-LICENSE,
SVT-AV1-safestringlib-LICENSE, SVT-AV1-cpuinfo-LICENSE). dav1d is under
the BSD 2-Clause licence (dav1d-COPYING). libstdc++ is under the GPL
version 3 with the GCC Runtime Library Exception (libstdc++-copyright).
EOF
	cp "$src/ffmpeg/COPYING.GPLv3" "$d/COPYING.GPLv3"
	cp "$src/ffmpeg/COPYING.GPLv2" "$d/COPYING.GPLv2"
	cp "$src/ffmpeg/LICENSE.md" "$d/FFmpeg-LICENSE.md"
	cp "$src/x264/COPYING" "$d/x264-COPYING"
	cp "$src/dav1d/COPYING" "$d/dav1d-COPYING"
	cp "$src/x265/COPYING" "$d/x265-COPYING"
	cp "$src/svt-av1/LICENSE.md" "$d/SVT-AV1-LICENSE.md"
	cp "$src/svt-av1/PATENTS.md" "$d/SVT-AV1-PATENTS.md"
	local p
	for p in fastfeat safestringlib cpuinfo; do
		cp "$src/svt-av1/third_party/$p/LICENSE" "$d/SVT-AV1-$p-LICENSE"
	done
	cp /usr/share/doc/libstdc++6/copyright "$d/libstdc++-copyright"
	cp /usr/share/doc/libmbedtls-dev/copyright "$d/mbedtls-copyright"
	cp /usr/share/common-licenses/Apache-2.0 "$d/Apache-2.0"
	cp /usr/share/doc/zlib1g-dev/copyright "$d/zlib-copyright"
	cp /usr/share/doc/libc6-dev/copyright "$d/glibc-copyright"
	cp /usr/share/common-licenses/LGPL-2.1 "$d/LGPL-2.1"
}

# package zips the stage with fixed times, modes and order, so the same
# binaries always give the same zip.
package() {
	local stage=$work/stage tmp
	rm -rf "$stage"
	mkdir -p "$stage/bin"
	cp "$bins/ffmpeg" "$bins/ffprobe" "$stage/bin/"
	licences "$stage/licenses"
	find "$stage" -type d -exec chmod 0755 {} +
	find "$stage" -type f -exec chmod 0644 {} +
	chmod 0755 "$stage/bin/ffmpeg" "$stage/bin/ffprobe"
	find "$stage" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
	tmp=$out.tmp
	rm -f "$tmp"
	mkdir -p "$(dirname "$out")"
	(cd "$stage" && find . -type f | sed 's|^\./||' | sort | zip -X -D -q -9 "$tmp" -@)
	mv "$tmp" "$out"
}

mkdir -p "$work"
# Two builds of one architecture would share the work tree: take turns.
exec 9>"$work.lock"
if ! flock -n 9; then
	say "another build for $ARCH is running; waiting for it"
	flock 9
fi
if [ -x "$bins/ffmpeg" ] && [ -x "$bins/ffprobe" ]; then
	say "reusing binaries from $bins"
	# Licence texts come from the source trees.
	if [ ! -f "$work/ffmpeg/COPYING.GPLv3" ] || [ ! -f "$work/x264/COPYING" ] || [ ! -f "$work/dav1d/COPYING" ] ||
		[ ! -f "$work/x265/COPYING" ] || [ ! -f "$work/svt-av1/third_party/cpuinfo/LICENSE" ]; then
		fetch ffmpeg "$FFMPEG_TARBALL" "$FFMPEG_SHA256" "$FFMPEG_DEBIAN_VERSION" "$FFMPEG_URLS"
		fetch x264 "$X264_TARBALL" "$X264_SHA256" "$X264_DEBIAN_VERSION" "$X264_URLS"
		fetch dav1d "$DAV1D_TARBALL" "$DAV1D_SHA256" "$DAV1D_DEBIAN_VERSION" "$DAV1D_URLS"
		fetch x265 "$X265_TARBALL" "$X265_SHA256" "$X265_DEBIAN_VERSION" "$X265_URLS"
		fetch svt-av1 "$SVTAV1_TARBALL" "$SVTAV1_SHA256" "$SVTAV1_DEBIAN_VERSION" "$SVTAV1_URLS"
		mkdir -p "$work/ffmpeg" "$work/x264" "$work/dav1d" "$work/x265" "$work/svt-av1"
		tar -xJf "$cache/src/$FFMPEG_TARBALL" -C "$work/ffmpeg" --strip-components=1
		tar -xzf "$cache/src/$X264_TARBALL" -C "$work/x264" --strip-components=1
		tar -xJf "$cache/src/$DAV1D_TARBALL" -C "$work/dav1d" --strip-components=1
		tar -xzf "$cache/src/$X265_TARBALL" -C "$work/x265" --strip-components=1
		tar -xJf "$cache/src/$SVTAV1_TARBALL" -C "$work/svt-av1" --strip-components=1
	fi
else
	build_x264
	build_dav1d
	build_x265
	build_svtav1
	build_ffmpeg
	mkdir -p "$bins.tmp"
	for b in ffmpeg ffprobe; do
		"${cross}strip" --strip-all -o "$bins.tmp/$b" "$work/ffmpeg/$b"
	done
	rm -rf "$bins"
	mv "$bins.tmp" "$bins"
fi
package
say "wrote $out ($(du -k "$out" | cut -f1) KiB, sha256 $(sha256sum "$out" | cut -c1-16)…)"
