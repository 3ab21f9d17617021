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
