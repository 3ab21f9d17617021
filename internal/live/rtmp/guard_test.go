package rtmp

import (
	"bytes"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/bluenviron/gortmplib/pkg/bytecounter"
	"github.com/bluenviron/gortmplib/pkg/message"
)

// TestGuardFollowsTheLibrary feeds the guard what the library's own writer
// sends (header compression, extended timestamps, frames over many chunks,
// interleaved audio), cut at random places: it must refuse nothing and end
// with nothing counted as unfinished. A guard out of step with the framing
// would refuse real publishers.
func TestGuardFollowsTheLibrary(t *testing.T) {
	var stream bytes.Buffer
	stream.WriteByte(plainVersion)
	stream.Write(make([]byte, 2*handshakeSize))
	w := message.NewWriter(&stream, bytecounter.NewWriter(&stream), false)
	write := func(m message.Message) {
		if err := w.Write(m); err != nil {
			t.Fatal(err)
		}
	}
	write(&message.SetChunkSize{Value: 4096})
	rng := rand.New(rand.NewPCG(1, 2))
	// Past 0xFFFFFF ms (4.66 h) timestamps are extended.
	for i, base := range []time.Duration{0, 5 * time.Hour} {
		for f := range 60 {
			dts := base + time.Duration(f)*40*time.Millisecond
			size := 200 + rng.IntN(3000)
			if f%30 == 0 {
				size = 300_000 + i*1000 // a keyframe, many chunks
			}
			write(&message.Video{ChunkStreamID: message.VideoChunkStreamID, DTS: dts, MessageStreamID: 1,
				Codec: message.CodecH264, Type: message.VideoTypeAU, AU: make([]byte, size)})
			write(&message.Audio{ChunkStreamID: message.AudioChunkStreamID, DTS: dts, MessageStreamID: 1,
				Codec: message.CodecMPEG4Audio, AACType: message.AudioAACTypeAU, AU: make([]byte, 300)})
		}
	}
	b := stream.Bytes()
	g := newGuard(nil, DefaultMaxMessage)
	g.authorize()
	for len(b) > 0 {
		n := min(len(b), 1+rng.IntN(5000))
		if err := g.feed(b[:n]); err != nil {
			t.Fatalf("guard refused the library's own stream at byte %d: %v", len(stream.Bytes())-len(b), err)
		}
		b = b[n:]
	}
	if g.buffered != 0 || g.chunkLeft != 0 || g.hn != 0 || g.chunkSize != 4096 {
		t.Errorf("guard out of step at the end: buffered %d, chunk left %d, header %d, chunk size %d",
			g.buffered, g.chunkLeft, g.hn, g.chunkSize)
	}
}
