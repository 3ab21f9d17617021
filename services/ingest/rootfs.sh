#!/bin/bash
# rootfs.sh ARCH OUT: the live ingest image's whole file tree, for ARCH
# (x86_64/amd64 or arm64), built on any Debian bookworm host without
# running anything of ARCH: the ingest cross-compiled (cgo, Debian's
# libsrt), and Debian's ffmpeg and libsrt with everything they need,
# downloaded for ARCH by apt and unpacked (no maintainer scripts: none of
# these libraries needs one). The Dockerfile copies OUT into an empty
# image, so an x86-64 machine builds the arm64 image with no emulation;
# `make ingest-rootfs` builds the same tree here and its tests run it.
set -euo pipefail

arch=${1:?usage: rootfs.sh ARCH OUT}
out=${2:?usage: rootfs.sh ARCH OUT}
case "$arch" in
x86_64 | amd64) debarch=amd64 goarch=amd64 cc=x86_64-linux-gnu-gcc ;;
arm64 | aarch64) debarch=arm64 goarch=arm64 cc=aarch64-linux-gnu-gcc ;;
*) echo "rootfs.sh: ARCH is x86_64 or arm64, not $arch" >&2; exit 2 ;;
esac
cd "$(dirname "$0")/../.."
cache=${HLSFLOW_CACHE:-$HOME/.cache/hlsflow}/ingest-debs/$debarch
if [ "$debarch" != "$(dpkg --print-architecture)" ] && ! dpkg --print-foreign-architectures | grep -qx "$debarch"; then
	echo "rootfs.sh: apt knows no $debarch packages: dpkg --add-architecture $debarch && apt-get update (make ingest-rootfs-deps)" >&2
	exit 1
fi

# What the image runs besides the ingest; ffmpeg is Debian's, the same
# major version the tests run against.
packages=(ffmpeg libsrt1.5-openssl)

rm -rf "$out"
mkdir -p "$out/usr/local/bin" "$cache/state" "$out/tmp" "$out/etc/ssl/certs"
chmod 1777 "$out/tmp"

CGO_ENABLED=1 GOOS=linux GOARCH=$goarch CC=$cc \
	go build -trimpath -ldflags="-s -w" -o "$out/usr/local/bin/ingest" ./services/ingest

# apt resolves the closure as if ARCH were this machine's only one and
# nothing were installed, downloading into the cache (kept between runs).
: >"$cache/state/status"
# The files of the versions apt chose ("Inst name (version … [arch])";
# a version's epoch colon is %3a in the file name).
apt=(apt-get -o APT::Architecture="$debarch" -o APT::Architectures::="$debarch"
	-o Dir::State::status="$cache/state/status" -o Dir::Cache::archives="$cache"
	-o Debug::NoLocking=1 -o APT::Sandbox::User=root --no-install-recommends -y)
mapfile -t debs < <("${apt[@]}" -s install "${packages[@]}" |
	sed -nE 's/^Inst ([^ ]+) \(([^ ]+) .*\[([a-z0-9]+)\].*/\1_\2_\3.deb/p' | sed 's/:/%3a/')
[ "${#debs[@]}" -gt 0 ] || { echo "rootfs.sh: apt chose no packages" >&2; exit 1; }
"${apt[@]}" -qq --download-only install "${packages[@]}" >/dev/null
for d in "${debs[@]}"; do
	dpkg-deb -x "$cache/$d" "$out"
done
# Debian bookworm's merged /usr, as debootstrap makes it: the loader at
# /lib, binaries found at /bin.
for d in bin lib sbin; do
	if [ -d "$out/$d" ] && [ ! -L "$out/$d" ]; then
		cp -a "$out/$d/." "$out/usr/$d/" && rm -rf "${out:?}/$d"
	fi
	ln -sfn "usr/$d" "$out/$d"
done
# The one thing a maintainer script would have done: BLAS and LAPACK are
# found through update-alternatives links.
for lib in "$out"/usr/lib/*/blas/libblas.so.3 "$out"/usr/lib/*/lapack/liblapack.so.3; do
	[ -e "$lib" ] && ln -sfn "$(basename "$(dirname "$lib")")/$(basename "$lib")" "$(dirname "$(dirname "$lib")")/$(basename "$lib")"
done
cp /etc/ssl/certs/ca-certificates.crt "$out/etc/ssl/certs/ca-certificates.crt"
echo "ingest:x:10001:10001::/tmp:/usr/sbin/nologin" >"$out/etc/passwd"
echo "ingest:x:10001:" >"$out/etc/group"
rm -rf "$out/usr/share/doc" "$out/usr/share/man" "$out/usr/share/locale" "$out/usr/share/lintian"
echo "rootfs.sh: $out: ingest ($goarch) and ${#debs[@]} packages, $(du -sh "$out" | cut -f1)"
