package media

import (
	"errors"
	"fmt"
	"io"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts"
	tscodecs "github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts/codecs"
)

var errFoundSPS = errors.New("sps found")

// SegmentCodecs reads the RFC 6381 codec string ("avc1.PPCCLL") of the
// H.264 video in an MPEG-TS segment from its sequence parameter set.
//
// The master playlist must name what was encoded, not what was asked for:
// x264 treats the requested profile as a ceiling and signals the lowest one
// the chosen preset needs (ultrafast gives Constrained Baseline even with
// -profile high), so CODECS is taken from the stream itself. The SPS comes
// with a segment's first keyframe: reading stops there.
func SegmentCodecs(r io.Reader) (string, error) {
	ts := &mpegts.Reader{R: r}
	if err := ts.Initialize(); err != nil {
		return "", fmt.Errorf("read mpeg-ts: %w", err)
	}
	var codecs string
	for _, tr := range ts.Tracks() {
		if _, ok := tr.Codec.(*tscodecs.H264); !ok {
			continue
		}
		ts.OnDataH264(tr, func(_, _ int64, au [][]byte) error {
			for _, nalu := range au {
				// profile_idc, the constraint flags and level_idc follow
				// the NAL header: RFC 6381's PPCCLL.
				if len(nalu) >= 4 && h264.NALUType(nalu[0]&0x1f) == h264.NALUTypeSPS {
					codecs = fmt.Sprintf("avc1.%02x%02x%02x", nalu[1], nalu[2], nalu[3])
					return errFoundSPS
				}
			}
			return nil
		})
		break
	}
	for {
		err := ts.Read()
		if errors.Is(err, errFoundSPS) {
			return codecs, nil
		}
		if errors.Is(err, io.EOF) {
			return "", errors.New("no h264 sequence parameter set in the segment")
		}
		if err != nil {
			return "", fmt.Errorf("read mpeg-ts: %w", err)
		}
	}
}
