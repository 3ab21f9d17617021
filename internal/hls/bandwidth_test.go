package hls

import (
	"fmt"
	"testing"
	"time"
)

func segs(durs ...float64) *MediaPlaylist {
	p := &MediaPlaylist{TargetDuration: 4}
	for i, d := range durs {
		p.Segments = append(p.Segments, Segment{URI: fmt.Sprintf("s%d.ts", i), Duration: time.Duration(d * float64(time.Second))})
	}
	return p
}

func TestMeasure(t *testing.T) {
	tests := []struct {
		name          string
		p             *MediaPlaylist
		sizes         []int64
		wantPeak      int64
		wantAverage   int64
		wantDurationS float64
	}{
		{
			name: "steady", p: segs(4, 4, 4), sizes: []int64{500_000, 500_000, 500_000},
			wantPeak: 1_000_000, wantAverage: 1_000_000, wantDurationS: 12,
		},
		{
			name: "one busy segment", p: segs(4, 4, 4), sizes: []int64{250_000, 1_000_000, 250_000},
			// Runs between 2 s and 6 s long: each segment alone.
			wantPeak: 2_000_000, wantAverage: 1_000_000, wantDurationS: 12,
		},
		{
			name: "short last segment does not count alone", p: segs(4, 4, 0.5), sizes: []int64{500_000, 500_000, 250_000},
			// 0.5 s at 4 Mb/s is under half a target; with the one before it,
			// 750 kB over 4.5 s.
			wantPeak: 1_333_334, wantAverage: 1_176_471, wantDurationS: 8.5,
		},
		{
			name: "video shorter than half a segment", p: segs(1.5), sizes: []int64{300_000},
			wantPeak: 1_600_000, wantAverage: 1_600_000, wantDurationS: 1.5,
		},
		{name: "empty", p: segs(), wantDurationS: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sizes := map[string]int64{}
			for i, n := range tt.sizes {
				sizes[fmt.Sprintf("s%d.ts", i)] = n
			}
			got := Measure(tt.p, sizes)
			if got.Peak != tt.wantPeak || got.Average != tt.wantAverage || got.Duration.Seconds() != tt.wantDurationS {
				t.Errorf("Measure = peak %d avg %d dur %v, want %d %d %vs", got.Peak, got.Average, got.Duration, tt.wantPeak, tt.wantAverage, tt.wantDurationS)
			}
		})
	}
}
