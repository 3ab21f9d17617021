package captions

import (
	"strconv"
	"strings"
)

// WebVTT writes t as a WebVTT file. mpegts, when positive, is the MPEG-TS
// presentation time (90 kHz) at which the video's timeline starts:
// X-TIMESTAMP-MAP ties cue time 0 to it, so players place the cues on the
// segments' clock.
func (t *Track) WebVTT(mpegts int64) []byte {
	var b strings.Builder
	b.WriteString("WEBVTT\n")
	if mpegts > 0 {
		b.WriteString("X-TIMESTAMP-MAP=MPEGTS:" + strconv.FormatInt(mpegts, 10) + ",LOCAL:00:00:00.000\n")
	}
	for _, c := range t.Cues {
		b.WriteString("\n" + stamp(c.Start) + " --> " + stamp(c.End))
		if c.Settings != "" {
			b.WriteString(" " + c.Settings)
		}
		b.WriteString("\n")
		if c.Text != "" {
			b.WriteString(c.Text + "\n")
		}
	}
	return []byte(b.String())
}
