package transcode

import (
	"io"
	"os"
	"time"
)

// A segment's first presentation time is read from the segment itself,
// so a stream's PROGRAM-DATE-TIME follows the feed's own clock rather than
// a sum of rounded durations.

const (
	tsPacket = 188
	// ptsScan is how much of a segment is read for its first PTS: the
	// tables and the first PES of every stream come first.
	ptsScan = 256 << 10
	ptsWrap = 1 << 33 // the 90 kHz clock wraps after about 26.5 hours
)

// firstPTS returns the PTS of the first PES of the segment's video stream
// (its first audio stream when it has no video), as 90 kHz ticks.
func firstPTS(path string) (int64, bool) {
	f, err := os.Open(path)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, ptsScan))
	if err != nil {
		return 0, false
	}
	return scanPTS(b)
}

// scanPTS walks MPEG-TS packets: the PAT names the PMT, the PMT the
// elementary streams, and the wanted stream's first PES header its PTS.
func scanPTS(b []byte) (int64, bool) {
	pmt, want := -1, -1
	for ; len(b) >= tsPacket; b = b[tsPacket:] {
		p := b[:tsPacket]
		if p[0] != 0x47 {
			return 0, false
		}
		start := p[1]&0x40 != 0
		pid := int(p[1]&0x1f)<<8 | int(p[2])
		payload := p[4:]
		if p[3]&0x20 != 0 { // adaptation field
			n := int(p[4]) + 1
			if n > len(payload) {
				continue
			}
			payload = payload[n:]
		}
		if p[3]&0x10 == 0 || !start {
			continue
		}
		switch {
		case pid == 0 && pmt < 0:
			pmt = patPMT(payload)
		case pid == pmt && want < 0:
			want = pmtStream(payload)
		case pid == want:
			return pesPTS(payload)
		}
	}
	return 0, false
}

// section skips a PSI pointer field and returns the section, bounded by
// its length.
func section(p []byte) []byte {
	if len(p) < 1 || int(p[0])+1 > len(p) {
		return nil
	}
	p = p[int(p[0])+1:]
	if len(p) < 3 {
		return nil
	}
	n := int(p[1]&0x0f)<<8 | int(p[2])
	if 3+n > len(p) || n < 9 {
		return nil
	}
	return p[:3+n-4] // without the CRC
}

func patPMT(p []byte) int {
	s := section(p)
	for i := 8; i+4 <= len(s); i += 4 {
		if prog := int(s[i])<<8 | int(s[i+1]); prog != 0 {
			return int(s[i+2]&0x1f)<<8 | int(s[i+3])
		}
	}
	return -1
}

// pmtStream picks the first video stream, else the first stream.
func pmtStream(p []byte) int {
	s := section(p)
	if len(s) < 12 {
		return -1
	}
	first := -1
	i := 12 + (int(s[10]&0x0f)<<8 | int(s[11]))
	for ; i+5 <= len(s); i += 5 + (int(s[i+3]&0x0f)<<8 | int(s[i+4])) {
		typ, pid := s[i], int(s[i+1]&0x1f)<<8|int(s[i+2])
		if typ == 0x1b || typ == 0x24 { // H.264, HEVC
			return pid
		}
		if first < 0 {
			first = pid
		}
	}
	return first
}

func pesPTS(p []byte) (int64, bool) {
	if len(p) < 14 || p[0] != 0 || p[1] != 0 || p[2] != 1 || p[7]&0x80 == 0 {
		return 0, false
	}
	t := p[9:14]
	return int64(t[0]>>1&0x07)<<30 | int64(t[1])<<22 | int64(t[2]>>1)<<15 | int64(t[3])<<7 | int64(t[4]>>1), true
}

// unwrap turns 33-bit PTS values, in order, into one growing timeline.
type unwrap struct {
	last, add int64
	seen      bool
}

func (u *unwrap) next(pts int64) time.Duration {
	if u.seen && pts+u.add < u.last-ptsWrap/2 {
		u.add += ptsWrap
	}
	u.seen, u.last = true, pts+u.add
	return time.Duration(u.last/90000)*time.Second + time.Duration(u.last%90000)*time.Second/90000
}
