package feed

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts"
	tscodecs "github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts/codecs"

	"github.com/hlsflow/hlsflow/internal/media"
)

// ErrNeedMore is returned by ProbeTS when the data seen so far does not yet
// hold the stream table, or a video parameter set when there is video.
var ErrNeedMore = errors.New("need more data to probe")

// ErrUnsupported is returned for feeds the ladder cannot be made from.
var ErrUnsupported = errors.New("unsupported feed")

var errFound = errors.New("found")

// ProbeTS reads the MPEG-TS in data far enough to describe its video (from
// the H.264 SPS) and audio. It returns ErrNeedMore until data holds an SPS,
// and ErrUnsupported (wrapped) when there is neither H.264 video nor audio.
// A feed with audio and no video (a radio stream) has an Info without
// VideoCodec.
func ProbeTS(data []byte) (Info, error) {
	r := &mpegts.Reader{R: bytes.NewReader(data)}
	if err := r.Initialize(); err != nil {
		return Info{}, ErrNeedMore
	}
	var info Info
	var video *mpegts.Track
	for _, tr := range r.Tracks() {
		switch c := tr.Codec.(type) {
		case *tscodecs.H264:
			if video == nil {
				video = tr
			}
		case *tscodecs.MPEG4Audio:
			info.Audio, info.AudioCodec = true, "aac"
		case *tscodecs.MPEG4AudioLATM:
			info.Audio, info.AudioCodec = true, "aac-latm"
		case *tscodecs.MPEG1Audio:
			info.Audio, info.AudioCodec = true, "mp3"
		case *tscodecs.AC3:
			info.Audio, info.AudioCodec = true, "ac3"
		case *tscodecs.Opus:
			info.Audio, info.AudioCodec = true, "opus"
		default:
			_ = c
		}
	}
	if video == nil && info.Audio {
		return info, nil
	}
	if video == nil {
		return Info{}, fmt.Errorf("%w: no h264 video and no audio track", ErrUnsupported)
	}
	info.VideoCodec = "h264"
	var sps h264.SPS
	r.OnDataH264(video, func(_, _ int64, au [][]byte) error {
		for _, nalu := range au {
			if len(nalu) > 0 && h264.NALUType(nalu[0]&0x1f) == h264.NALUTypeSPS {
				if err := sps.Unmarshal(nalu); err == nil {
					return errFound
				}
			}
		}
		return nil
	})
	for {
		err := r.Read()
		if errors.Is(err, errFound) {
			break
		}
		if err != nil {
			return Info{}, ErrNeedMore
		}
	}
	info.Width, info.Height, info.FPS = sps.Width(), sps.Height(), sps.FPS()
	if info.Width <= 0 || info.Height <= 0 {
		return Info{}, fmt.Errorf("%w: bad h264 dimensions", ErrUnsupported)
	}
	return info, nil
}

// InfoFromSPS describes H.264 video from its SPS.
func InfoFromSPS(spsNALU []byte) (Info, error) {
	var sps h264.SPS
	if err := sps.Unmarshal(spsNALU); err != nil {
		return Info{}, fmt.Errorf("%w: parse h264 sps: %v", ErrUnsupported, err)
	}
	info := Info{Width: sps.Width(), Height: sps.Height(), FPS: sps.FPS(), VideoCodec: "h264"}
	if info.Width <= 0 || info.Height <= 0 {
		return Info{}, fmt.Errorf("%w: bad h264 dimensions", ErrUnsupported)
	}
	return info, nil
}

// Check refuses, with ErrUnsupported, a feed whose picture or frame rate
// is beyond lim: the limits of on-demand sources (media.DefaultLimits),
// applied by media.CheckLimits, the one place they are checked. A frame
// rate the stream does not state (0) is not checked.
func Check(info Info, lim media.Limits) error {
	if info.VideoCodec == "" {
		return nil
	}
	if err := media.CheckLimits(Source(info), lim); err != nil {
		return fmt.Errorf("%w: %s", ErrUnsupported, strings.TrimPrefix(err.Error(), media.ErrUnsupported.Error()+": "))
	}
	return nil
}

// Source is the media.Source a feed stands for, its probed picture and
// audio, for media's limits, -max_pixels and budgets.
func Source(info Info) *media.Source {
	src := &media.Source{}
	if info.VideoCodec != "" {
		src.Video = &media.Video{Codec: info.VideoCodec, Width: info.Width, Height: info.Height, FPS: info.FPS}
	}
	if info.Audio {
		src.Audio = &media.Audio{Codec: info.AudioCodec}
	}
	return src
}
