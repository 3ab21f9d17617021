package feed

import (
	"testing"
	"time"
)

func TestLogRate(t *testing.T) {
	l := LogRate{Every: 10 * time.Second}
	t0 := time.Unix(1000, 0)
	if n, ok := l.Allow(t0); !ok || n != 1 {
		t.Fatalf("first event: %d, %v; want logged, standing for 1", n, ok)
	}
	for i := range 4 {
		if _, ok := l.Allow(t0.Add(time.Duration(i+1) * time.Second)); ok {
			t.Fatalf("event %d within Every was logged", i+2)
		}
	}
	if n, ok := l.Allow(t0.Add(10 * time.Second)); !ok || n != 5 {
		t.Fatalf("after Every: %d, %v; want logged, standing for the 4 held back and itself", n, ok)
	}
}
