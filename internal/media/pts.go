package media

import (
	"errors"
	"io"
)

// FirstPTS returns the presentation time (90 kHz) of the first video
// frame in an MPEG-TS segment, or of the first audio frame when it has no
// video: the clock X-TIMESTAMP-MAP ties WebVTT cues to. It reads whole
// 188-byte packets and stops at the first PES header with a PTS.
func FirstPTS(r io.Reader) (int64, error) {
	var pkt [188]byte
	audio := int64(-1)
	for {
		if _, err := io.ReadFull(r, pkt[:]); err != nil {
			if audio >= 0 {
				return audio, nil
			}
			return 0, errors.New("no timestamp in the segment")
		}
		if pkt[0] != 0x47 {
			return 0, errors.New("not an MPEG-TS segment")
		}
		if pkt[1]&0x40 == 0 { // not the start of a PES
			continue
		}
		p := pkt[4:]
		switch pkt[3] >> 4 & 0x3 { // adaptation field control
		case 2:
			continue
		case 3:
			if int(p[0])+1 >= len(p) {
				continue
			}
			p = p[1+int(p[0]):]
		}
		if len(p) < 14 || p[0] != 0 || p[1] != 0 || p[2] != 1 || p[7]&0x80 == 0 {
			continue
		}
		id, t := p[3], p[9:14]
		pts := int64(t[0]>>1&0x7)<<30 | int64(t[1])<<22 | int64(t[2]>>1)<<15 | int64(t[3])<<7 | int64(t[4]>>1)
		switch {
		case id >= 0xe0 && id <= 0xef:
			return pts, nil
		case id >= 0xc0 && id <= 0xdf && audio < 0:
			audio = pts
		}
	}
}
