package media

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"strings"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/av1"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"

	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
	mp4codecs "github.com/bluenviron/mediacommon/v2/pkg/formats/mp4/codecs"
)

// SegmentFormat is the container of an on-demand video's segments.
type SegmentFormat string

const (
	// TS is MPEG-TS segments: every HLS player, Apple's oldest included.
	TS SegmentFormat = "ts"
	// CMAF is fragmented MP4 segments (.m4s) after one init segment per
	// rendition (EXT-X-MAP): the container DASH and HEVC/AV1 in HLS need,
	// and a few percent fewer bytes than MPEG-TS's 188-byte packets.
	CMAF SegmentFormat = "cmaf"
)

// ParseSegmentFormat reads "ts" or "cmaf"; "" is TS.
func ParseSegmentFormat(s string) (SegmentFormat, error) {
	switch f := SegmentFormat(s); f {
	case "":
		return TS, nil
	case TS, CMAF:
		return f, nil
	}
	return "", fmt.Errorf("segment format %q: want ts or cmaf", s)
}

// CMAFSegmentPattern is SegmentPattern for CMAF segments: seg_NNNNN.m4s,
// or seg_REV_NNNNN.m4s.
func CMAFSegmentPattern(rev string) string {
	if rev == "" {
		return "seg_%05d.m4s"
	}
	return "seg_" + rev + "_%05d.m4s"
}

// InitName is the file name of a CMAF rendition's init segment (its
// EXT-X-MAP) for revision rev: init.mp4, or init_REV.mp4. Like the
// segments it names, it is immutable once written.
func InitName(rev string) string {
	if rev == "" {
		return "init.mp4"
	}
	return "init_" + rev + ".mp4"
}

// InitCodecs is SegmentCodecs for a CMAF rendition: the RFC 6381 codec
// string of the H.264, HEVC or AV1 video in an init segment, from the
// sequence parameter set in its avcC or hvcC box or the sequence header
// OBU in its av1C box.
func InitCodecs(r io.ReadSeeker) (string, error) {
	var in fmp4.Init
	if err := in.Unmarshal(r); err != nil {
		return "", fmt.Errorf("read init segment: %w", err)
	}
	for _, t := range in.Tracks {
		switch c := t.Codec.(type) {
		case *mp4codecs.H264:
			if len(c.SPS) >= 4 {
				return fmt.Sprintf("avc1.%02x%02x%02x", c.SPS[1], c.SPS[2], c.SPS[3]), nil
			}
		case *mp4codecs.H265:
			return hvc1Codecs(c.SPS)
		case *mp4codecs.AV1:
			return av01Codecs(c.SequenceHeader)
		}
	}
	return "", errors.New("no h264, h265 or av1 sequence header in the init segment")
}

// hvc1Codecs is the RFC 6381 string of HEVC in an hvc1 sample entry
// (ISO/IEC 14496-15 annex E), e.g. "hvc1.1.6.L93.B0", from the
// profile_tier_level at the start of a sequence parameter set: profile
// space and profile, the compatibility flags bit-reversed in hex, tier
// and level, then the constraint bytes without trailing zero bytes.
func hvc1Codecs(sps []byte) (string, error) {
	// NAL header (2 bytes), then one byte of ids before the
	// profile_tier_level's 12 general bytes; the emulation prevention
	// bytes the flags' zeros bring are removed first.
	b := h264.EmulationPreventionRemove(sps)
	if len(b) < 2+1+12 || (b[0]>>1)&0x3f != 33 {
		return "", errors.New("not an h265 sequence parameter set")
	}
	ptl := b[3:15]
	space, tier, profile := ptl[0]>>6, ptl[0]>>5&1, ptl[0]&0x1f
	compat := bits.Reverse32(binary.BigEndian.Uint32(ptl[1:5]))
	var s strings.Builder
	fmt.Fprintf(&s, "hvc1.%s%d.%X.%c%d", []string{"", "A", "B", "C"}[space], profile, compat, "LH"[tier], ptl[11])
	constraints := ptl[5:11]
	for len(constraints) > 0 && constraints[len(constraints)-1] == 0 {
		constraints = constraints[:len(constraints)-1]
	}
	for _, c := range constraints {
		fmt.Fprintf(&s, ".%X", c)
	}
	return s.String(), nil
}

// av01Codecs is the RFC 6381 string of AV1 (the AV1 codec ISOBMFF
// binding, "Codecs Parameter String"), e.g. "av01.0.08M.08", from a
// sequence header OBU: profile, the first operating point's level and
// tier, and the bit depth. The optional colour fields are left out, as
// the binding allows, meaning their defaults.
func av01Codecs(obu []byte) (string, error) {
	var h av1.SequenceHeader
	if err := h.Unmarshal(obu); err != nil {
		return "", fmt.Errorf("read av1 sequence header: %w", err)
	}
	if len(h.SeqLevelIdx) == 0 || len(h.SeqTier) == 0 || h.ColorConfig.BitDepth == 0 {
		return "", errors.New("av1 sequence header without level or bit depth")
	}
	tier := 'M'
	if h.SeqTier[0] {
		tier = 'H'
	}
	return fmt.Sprintf("av01.%d.%02d%c.%02d", h.SeqProfile, h.SeqLevelIdx[0], tier, h.ColorConfig.BitDepth), nil
}
