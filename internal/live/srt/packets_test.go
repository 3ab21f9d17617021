package srt

import (
	"bytes"
	"testing"
)

func pkt(pid uint16, fill byte) []byte {
	p := bytes.Repeat([]byte{fill}, packetSize)
	p[0], p[1], p[2], p[3] = syncByte, byte(pid>>8)&0x1f, byte(pid), 0x10
	return p
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func TestPacketizer(t *testing.T) {
	a, b, c, null := pkt(256, 1), pkt(257, 2), pkt(256, 3), pkt(nullPID, 0)
	tests := []struct {
		name     string
		messages [][]byte
		want     []byte
		junk     int
	}{
		{"whole packets", [][]byte{cat(a, b), cat(c)}, cat(a, b, c), 0},
		{"a packet across messages", [][]byte{cat(a, b[:100]), cat(b[100:], c)}, cat(a, b, c), 0},
		{"byte by byte", split(cat(a, b, c), 1), cat(a, b, c), 0},
		{"leading junk", [][]byte{cat([]byte("xyz\x47"), a, b)}, cat(a, b), 4},
		{"junk between messages", [][]byte{cat(a), []byte("\x47junk"), cat(b, c)}, cat(a, b, c), 5},
		{"null packets dropped", [][]byte{cat(a, null, b)}, cat(a, b), 0},
		// All but the last 187 bytes, which wait for more.
		{"all junk", [][]byte{bytes.Repeat([]byte("\x47not ts"), 200)}, nil, 7*200 - (packetSize - 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p packetizer
			var got []byte
			junk := 0
			for _, m := range tt.messages {
				out, j := p.add(m, nil)
				got = append(got, out...)
				junk += j
			}
			if !bytes.Equal(got, tt.want) || junk != tt.junk {
				t.Errorf("got %d bytes (%d junk), want %d (%d junk)", len(got), junk, len(tt.want), tt.junk)
			}
			if len(p.rest) > packetSize {
				t.Errorf("%d bytes held back, want at most a packet", len(p.rest))
			}
		})
	}
}

func split(b []byte, n int) [][]byte {
	var out [][]byte
	for len(b) > 0 {
		k := min(n, len(b))
		out = append(out, b[:k])
		b = b[k:]
	}
	return out
}
