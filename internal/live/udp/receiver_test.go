package udp

import (
	"bytes"
	"sync/atomic"
	"testing"
)

func pkt(pid uint16, cc byte, fill byte) []byte {
	p := bytes.Repeat([]byte{fill}, packetSize)
	p[0], p[1], p[2], p[3] = syncByte, byte(pid>>8)&0x1f, byte(pid), 0x10|cc&0x0f
	return p
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func TestClean(t *testing.T) {
	a, b := pkt(256, 0, 1), pkt(256, 1, 2)
	tests := []struct {
		name     string
		in, want []byte
		junk     int
	}{
		{"two packets", cat(a, b), cat(a, b), 0},
		{"leading junk", cat([]byte("xyz"), a, b), cat(a, b), 3},
		{"junk between", cat(a, []byte{0x47, 0, 0}, b), cat(a, b), 3},
		{"truncated tail", cat(a, b[:100]), a, 100},
		{"all junk", bytes.Repeat([]byte{0x47}, 100), nil, 100},
		{"empty", nil, nil, 0},
	}
	var r Receiver
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, junk := r.clean(tt.in)
			if !bytes.Equal(got, tt.want) || junk != tt.junk {
				t.Errorf("clean = %d bytes, junk %d; want %d bytes, junk %d", len(got), junk, len(tt.want), tt.junk)
			}
		})
	}
}

func TestDedupe(t *testing.T) {
	tests := []struct {
		name string
		in   [][]byte
		keep int
		dups int64
	}{
		{"in order", [][]byte{pkt(256, 0, 0), pkt(256, 1, 0), pkt(257, 0, 0)}, 3, 0},
		{"duplicate", [][]byte{pkt(256, 0, 0), pkt(256, 0, 0), pkt(256, 1, 0)}, 2, 1},
		{"gap is passed on", [][]byte{pkt(256, 0, 0), pkt(256, 5, 0)}, 2, 0},
		{"null packets kept", [][]byte{pkt(0x1fff, 0, 0), pkt(0x1fff, 0, 0)}, 2, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var dups atomic.Int64
			out := dedupe(cat(tt.in...), map[uint16]byte{}, &dups)
			if len(out) != tt.keep*packetSize || dups.Load() != tt.dups {
				t.Errorf("kept %d packets, %d dups; want %d, %d", len(out)/packetSize, dups.Load(), tt.keep, tt.dups)
			}
		})
	}
}
