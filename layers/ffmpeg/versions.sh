# Pinned sources of the FFmpeg layer, sourced by build.sh.
# Changing a pin changes the cache key, so the next `make layer` rebuilds.
#
# The FFmpeg .orig tarball in Debian is the upstream release tarball
# byte for byte (Debian ships upstream's .asc signature next to it), so the
# same checksum holds for the ffmpeg.org download.
FFMPEG_VERSION=5.1.9
FFMPEG_DEBIAN_VERSION=7:5.1.9-0+deb12u1
FFMPEG_TARBALL=ffmpeg_5.1.9.orig.tar.xz
FFMPEG_SHA256=d9b593bb2ba93d4b50f74177e0cdcd41747e708596367deed0c30348a71dd176
FFMPEG_URLS="https://ffmpeg.org/releases/ffmpeg-5.1.9.tar.xz
https://deb.debian.org/debian/pool/main/f/ffmpeg/ffmpeg_5.1.9.orig.tar.xz"

# x264 has no release tarballs; Debian's .orig is a snapshot of commit baee400.
X264_VERSION=0.164.3095+gitbaee400
X264_DEBIAN_VERSION=2:0.164.3095+gitbaee400-3
X264_TARBALL=x264_0.164.3095+gitbaee400.orig.tar.gz
X264_SHA256=8b237e94b08c196a1da22f2f25875f10be4cff3648df4eeff21e00da8f683fc2
X264_URLS="https://deb.debian.org/debian/pool/main/x/x264/x264_0.164.3095+gitbaee400.orig.tar.gz"

# dav1d (AV1 decoding; FFmpeg 5.1's own AV1 decoder needs hardware). The
# .orig is upstream's 1.0.0 release; Debian's package adds a security fix
# (CVE-2024-1580), applied from its debian/patches.
DAV1D_VERSION=1.0.0
DAV1D_DEBIAN_VERSION=1.0.0-2+deb12u1
DAV1D_TARBALL=dav1d_1.0.0.orig.tar.xz
DAV1D_SHA256=51737db7e4897e599684f873a4725176dd3c779e639411d7c4fce134bb5ebb82
DAV1D_URLS="https://deb.debian.org/debian/pool/main/d/dav1d/dav1d_1.0.0.orig.tar.xz
https://downloads.videolan.org/pub/videolan/dav1d/1.0.0/dav1d-1.0.0.tar.xz"
DAV1D_DEBIAN_TARBALL=dav1d_1.0.0-2+deb12u1.debian.tar.xz
DAV1D_DEBIAN_SHA256=ae53e2bda2a18275cc66570194fced9b9681df2b3b8e041586a26a59d69a727e
DAV1D_DEBIAN_URLS="https://deb.debian.org/debian/pool/main/d/dav1d/dav1d_1.0.0-2+deb12u1.debian.tar.xz"
