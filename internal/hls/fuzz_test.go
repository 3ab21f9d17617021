package hls

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse feeds arbitrary bytes to both parsers. Neither may panic, and
// whatever parses must encode, and encoding must be stable: what Encode
// writes parses back to a playlist that encodes to the same bytes.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.m3u8"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("#EXTM3U\n#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"a,b\",NAME=x\n#EXT-X-STREAM-INF:BANDWIDTH=1,FRAME-RATE=0.0001\nv.m3u8\n"))
	f.Add([]byte("#EXTM3U\r#EXTINF:0x1p-2,t\r#EXT-X-MAP:URI=i.mp4\ra.ts\r"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if p, err := ParseMedia(data); err == nil {
			stable(t, data, p, func() playlist { return &MediaPlaylist{} })
		}
		if p, err := ParseMaster(data); err == nil {
			stable(t, data, p, func() playlist { return &MasterPlaylist{} })
		}
	})
}

// playlist is what both playlist types have in common, for the fuzz test.
type playlist interface {
	Encode() ([]byte, error)
	UnmarshalText([]byte) error
}

func stable(t *testing.T, in []byte, p playlist, fresh func() playlist) {
	t.Helper()
	first, err := p.Encode()
	if err != nil {
		t.Fatalf("parsed but cannot encode: %v\ninput %q", err, in)
	}
	q := fresh()
	if err := q.UnmarshalText(first); err != nil {
		t.Fatalf("encoded output does not parse: %v\n%s", err, first)
	}
	second, err := q.Encode()
	if err != nil {
		t.Fatalf("re-encode: %v", err)
	}
	if !bytes.Equal(first, second) {
		t.Fatalf("encoding not stable:\n%s\n---\n%s", first, second)
	}
}
