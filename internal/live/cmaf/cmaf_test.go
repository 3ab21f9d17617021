package cmaf

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// fragmented writes seconds of 30 fps video (a keyframe every 2 s) and
// audio as ffmpeg's fragmented MP4 with half-second fragments, the way
// the live encoder does.
func fragmented(t *testing.T, seconds string, audioOnly bool) []byte {
	t.Helper()
	out := filepath.Join(t.TempDir(), "stream.mp4")
	args := []string{"-hide_banner", "-loglevel", "error",
		"-f", "lavfi", "-i", "testsrc2=size=160x120:rate=30:duration=" + seconds,
		"-f", "lavfi", "-i", "sine=duration=" + seconds}
	if audioOnly {
		args = append(args, "-map", "1:a")
	} else {
		args = append(args, "-map", "0:v", "-map", "1:a", "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency",
			"-force_key_frames", "expr:gte(t,n_forced*2)", "-g", "121", "-sc_threshold", "0")
	}
	args = append(args, "-c:a", "aac", "-f", "mp4", "-movflags", "+empty_moov+default_base_moof+frag_keyframe+skip_sidx",
		"-frag_duration", "500000", out)
	if b, err := exec.Command("ffmpeg", args...).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func split(t *testing.T, b []byte, chunk int) (*Splitter, []Fragment) {
	t.Helper()
	var (
		s    Splitter
		frag []Fragment
	)
	for off := 0; off < len(b); off += chunk {
		_, _ = s.Write(b[off:min(off+chunk, len(b))])
		for {
			f, ok, err := s.Next()
			if err != nil {
				t.Fatal(err)
			}
			if !ok {
				break
			}
			frag = append(frag, f)
		}
	}
	return &s, frag
}

// TestSplit: written a few bytes at a time, the stream comes out as its
// initialization section and half-second fragments, timed on the video
// track, those starting a GOP marked independent; the pieces put back
// together play.
func TestSplit(t *testing.T) {
	b := fragmented(t, "4", false)
	s, frags := split(t, b, 1000)
	if s.Init() == nil || !bytes.HasPrefix(b, s.Init()) {
		t.Fatal("no initialization section at the start of the stream")
	}
	if len(frags) != 8 {
		t.Fatalf("%d fragments, want 8 of 0.5 s", len(frags))
	}
	var whole bytes.Buffer
	whole.Write(s.Init())
	var next time.Duration
	for i, f := range frags {
		whole.Write(f.Data)
		if d := f.Time - next; i > 0 && (d < -time.Millisecond || d > time.Millisecond) {
			t.Errorf("fragment %d at %v, the previous ended at %v", i, f.Time, next)
		}
		next = f.Time + f.Duration
		if f.Duration < 450*time.Millisecond || f.Duration > 550*time.Millisecond {
			t.Errorf("fragment %d lasts %v", i, f.Duration)
		}
		if want := i%4 == 0; f.Independent != want {
			t.Errorf("fragment %d at %v: independent %v, want %v", i, f.Time, f.Independent, want)
		}
	}
	p := filepath.Join(t.TempDir(), "joined.mp4")
	if err := os.WriteFile(p, whole.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("ffmpeg", "-v", "error", "-i", p, "-f", "null", "-").CombinedOutput(); err != nil || len(out) > 0 {
		t.Errorf("the pieces do not decode: %v %s", err, out)
	}
}

// TestSplitAudioOnly: a radio stream is timed on its audio track, every
// fragment independent.
func TestSplitAudioOnly(t *testing.T) {
	_, frags := split(t, fragmented(t, "2", true), 4096)
	if len(frags) < 3 {
		t.Fatalf("%d fragments", len(frags))
	}
	for i, f := range frags {
		if !f.Independent || f.Duration <= 0 {
			t.Errorf("fragment %d: %+v", i, f)
		}
	}
}

func TestSplitRefusesJunk(t *testing.T) {
	good := fragmented(t, "1", false)
	for name, b := range map[string][]byte{
		"text":             []byte("this is not an mp4 file at all, not even close"),
		"huge box":         append([]byte{0x7f, 0xff, 0xff, 0xff}, []byte("moofxxxxxxxx")...),
		"tiny box":         append([]byte{0, 0, 0, 4}, []byte("ftypxxxxxxxx")...),
		"moof before moov": append([]byte{0, 0, 0, 8, 'm', 'o', 'o', 'f'}, good...),
	} {
		t.Run(name, func(t *testing.T) {
			var s Splitter
			_, _ = s.Write(b)
			var err error
			for range 10 {
				var ok bool
				if _, ok, err = s.Next(); err != nil || !ok {
					break
				}
			}
			if !errors.Is(err, ErrFormat) {
				t.Errorf("err %v, want ErrFormat", err)
			}
		})
	}
}
