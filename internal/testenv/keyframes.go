package testenv

import (
	"math"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// KeyframeTimes are the presentation times of the keyframes of a local
// media playlist's video, from its first frame's, in order (ffprobe's
// packets: what a player's segments start on).
func KeyframeTimes(t testing.TB, playlist string) []float64 {
	t.Helper()
	b, err := exec.Command("ffprobe", "-v", "error", "-protocol_whitelist", "file", "-select_streams", "v:0",
		"-show_entries", "packet=pts_time,flags", "-of", "csv=p=0", playlist).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", playlist, err)
	}
	var keys []float64
	first := math.Inf(1)
	for line := range strings.Lines(string(b)) {
		pts, flags, _ := strings.Cut(strings.TrimSpace(line), ",")
		v, err := strconv.ParseFloat(pts, 64)
		if err != nil {
			continue
		}
		first = min(first, v)
		if strings.HasPrefix(flags, "K") {
			keys = append(keys, v)
		}
	}
	slices.Sort(keys)
	for i := range keys {
		keys[i] -= first
	}
	return keys
}
