package cli

import "testing"

func TestSegmentsEnv(t *testing.T) {
	base := func(k string) string { return map[string]string{"SEGMENT_FORMAT": "ts", "PER_TITLE": "off"}[k] }
	for flag, want := range map[string]string{"": "ts", "ts": "ts", "cmaf": "cmaf"} {
		getenv, err := segmentsEnv(base, flag)
		if err != nil || getenv("SEGMENT_FORMAT") != want || getenv("PER_TITLE") != "off" {
			t.Errorf("--segments %q: SEGMENT_FORMAT %q (%v), want %q and the rest unchanged", flag, getenv("SEGMENT_FORMAT"), err, want)
		}
	}
	for _, bad := range []string{"fmp4", "CMAF", "ts "} {
		if _, err := segmentsEnv(base, bad); err == nil {
			t.Errorf("--segments %q accepted", bad)
		}
	}
}

func TestCodecsEnv(t *testing.T) {
	base := func(k string) string { return map[string]string{"VIDEO_CODECS": "h264", "PER_TITLE": "off"}[k] }
	for flag, want := range map[string]string{"": "h264", "h264,hevc,av1": "h264,hevc,av1", "av1": "av1"} {
		getenv, err := codecsEnv(base, flag)
		if err != nil || getenv("VIDEO_CODECS") != want || getenv("PER_TITLE") != "off" {
			t.Errorf("--codecs %q: VIDEO_CODECS %q (%v), want %q and the rest unchanged", flag, getenv("VIDEO_CODECS"), err, want)
		}
	}
	for _, bad := range []string{"vp9", "h264,", "hevc;av1", "x265"} {
		if _, err := codecsEnv(base, bad); err == nil {
			t.Errorf("--codecs %q accepted", bad)
		}
	}
}
