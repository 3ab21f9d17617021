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

# x265 (HEVC encoding), 8-bit only. The .orig is upstream's 3.5 release
# tarball; Debian's debian/patches are build fixes (arm flags, x32) and
# drop x265_api_get's dlopen of other bit depths, which a static binary
# must not do; they are applied as dav1d's are. No security patches.
X265_VERSION=3.5
X265_DEBIAN_VERSION=3.5-2
X265_TARBALL=x265_3.5.orig.tar.gz
X265_SHA256=e70a3335cacacbba0b3a20ec6fecd6783932288ebc8163ad74bcc9606477cae8
X265_URLS="https://deb.debian.org/debian/pool/main/x/x265/x265_3.5.orig.tar.gz
https://bitbucket.org/multicoreware/x265_git/downloads/x265_3.5.tar.gz"
X265_DEBIAN_TARBALL=x265_3.5-2.debian.tar.xz
X265_DEBIAN_SHA256=47a111b9c3e7fd95e4e3e5db43aeb7019a4031820a80badc6dea5c5719de9264
X265_DEBIAN_URLS="https://deb.debian.org/debian/pool/main/x/x265/x265_3.5-2.debian.tar.xz"

# SVT-AV1 (AV1 encoding). Debian repacks upstream's 1.4.1 without
# third_party/googletest (+dfsg), so only Debian's tarball has this sum;
# the package has no patches.
SVTAV1_VERSION=1.4.1
SVTAV1_DEBIAN_VERSION=1.4.1+dfsg-1
SVTAV1_TARBALL=svt-av1_1.4.1+dfsg.orig.tar.xz
SVTAV1_SHA256=4ce800449365b6a4ead77b8ce4965ef20b4e54c2950fda52273ed1914ebfae78
SVTAV1_URLS="https://deb.debian.org/debian/pool/main/s/svt-av1/svt-av1_1.4.1+dfsg.orig.tar.xz"
