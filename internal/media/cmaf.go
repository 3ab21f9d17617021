package media

import (
	"errors"
	"fmt"
	"io"

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
// string of the H.264 video in an init segment, from the sequence
// parameter set in its avcC box.
func InitCodecs(r io.ReadSeeker) (string, error) {
	var in fmp4.Init
	if err := in.Unmarshal(r); err != nil {
		return "", fmt.Errorf("read init segment: %w", err)
	}
	for _, t := range in.Tracks {
		if c, ok := t.Codec.(*mp4codecs.H264); ok && len(c.SPS) >= 4 {
			return fmt.Sprintf("avc1.%02x%02x%02x", c.SPS[1], c.SPS[2], c.SPS[3]), nil
		}
	}
	return "", errors.New("no h264 sequence parameter set in the init segment")
}
