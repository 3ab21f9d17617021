// Package cmaf splits the fragmented MP4 that the live encoder writes
// (an initialization section, then moof+mdat fragments) as it grows: the
// initialization section once, then each fragment whole with its time,
// duration and whether it starts with a keyframe, read from its boxes.
// It reads what the low-latency packager needs and nothing more.
package cmaf

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// maxBox bounds one box: a fragment of a live rung is a few hundred
// kilobytes; anything far larger is not this encoder's output.
const maxBox = 64 << 20

// ErrFormat is returned for bytes that are not a fragmented MP4 stream.
var ErrFormat = errors.New("cmaf: not a fragmented MP4 stream")

// Fragment is one moof+mdat pair.
type Fragment struct {
	Data        []byte
	Time        time.Duration // decode time of its first sample on the main track
	Duration    time.Duration // of the main track's samples
	Independent bool          // the main track's first sample is a sync sample
}

type track struct {
	id, timescale           uint32
	video                   bool
	defDuration, defFlags   uint32 // trex
	haveDefDur, haveDefFlag bool
}

// Splitter takes the stream's bytes in order (Write) and hands back the
// initialization section (Init) and the fragments (Next).
type Splitter struct {
	buf     []byte
	init    []byte
	tracks  []track
	main    int    // index into tracks: the video track, else the first
	initBuf []byte // the boxes before the moov, while it is read
}

// Write appends the next bytes of the stream.
func (s *Splitter) Write(b []byte) (int, error) {
	s.buf = append(s.buf, b...)
	return len(b), nil
}

// Init is the initialization section (ftyp and moov), nil until read.
func (s *Splitter) Init() []byte { return s.init }

// box reads the header of the box at b: its size and type; ok false if b
// does not hold the header yet.
func box(b []byte) (size uint64, typ string, hdr int, ok bool, err error) {
	if len(b) < 8 {
		return 0, "", 0, false, nil
	}
	size, typ, hdr = uint64(binary.BigEndian.Uint32(b)), string(b[4:8]), 8
	if size == 1 {
		if len(b) < 16 {
			return 0, "", 0, false, nil
		}
		size, hdr = binary.BigEndian.Uint64(b[8:]), 16
	}
	if size < uint64(hdr) || size > maxBox {
		return 0, "", 0, false, fmt.Errorf("%w: box %q of %d bytes", ErrFormat, typ, size)
	}
	return size, typ, hdr, true, nil
}

// Next returns the next complete fragment; ok is false until one is
// whole. Boxes other than moof and mdat between fragments (mfra at the
// end) are skipped.
func (s *Splitter) Next() (f Fragment, ok bool, err error) {
	for {
		size, typ, _, have, err := box(s.buf)
		if err != nil || !have || uint64(len(s.buf)) < size {
			return Fragment{}, false, err
		}
		if s.init == nil {
			if typ == "moof" {
				return Fragment{}, false, fmt.Errorf("%w: a fragment before the moov", ErrFormat)
			}
			if typ == "moov" {
				if err := s.readMoov(s.buf[8:size]); err != nil {
					return Fragment{}, false, err
				}
			}
			s.pending(size, typ == "moov")
			continue
		}
		if typ != "moof" {
			s.buf = s.buf[size:]
			continue
		}
		msize, mtyp, _, have, err := box(s.buf[size:])
		if err != nil || !have || uint64(len(s.buf)) < size+msize {
			return Fragment{}, false, err
		}
		if mtyp != "mdat" {
			return Fragment{}, false, fmt.Errorf("%w: moof followed by %q", ErrFormat, mtyp)
		}
		f, err := s.readMoof(s.buf[8:size])
		if err != nil {
			return Fragment{}, false, err
		}
		f.Data = append([]byte(nil), s.buf[:size+msize]...)
		s.buf = s.buf[size+msize:]
		return f, true, nil
	}
}

// pending moves a box before the first fragment into the initialization
// section, which is complete at the moov.
func (s *Splitter) pending(size uint64, last bool) {
	if s.initBuf == nil {
		s.initBuf = []byte{}
	}
	s.initBuf = append(s.initBuf, s.buf[:size]...)
	s.buf = s.buf[size:]
	if last {
		s.init, s.initBuf = s.initBuf, nil
	}
}

// children calls fn for each box in b.
func children(b []byte, fn func(typ string, body []byte) error) error {
	for len(b) > 0 {
		size, typ, hdr, ok, err := box(b)
		if err != nil {
			return err
		}
		if !ok || uint64(len(b)) < size {
			return fmt.Errorf("%w: box %q cut short", ErrFormat, typ)
		}
		if err := fn(typ, b[hdr:size]); err != nil {
			return err
		}
		b = b[size:]
	}
	return nil
}

func u32(b []byte, off int) (uint32, error) {
	if off < 0 || len(b) < off+4 {
		return 0, fmt.Errorf("%w: box too short", ErrFormat)
	}
	return binary.BigEndian.Uint32(b[off:]), nil
}

func (s *Splitter) readMoov(moov []byte) error {
	var trex []track
	err := children(moov, func(typ string, body []byte) error {
		switch typ {
		case "trak":
			t, err := readTrak(body)
			if err != nil {
				return err
			}
			s.tracks = append(s.tracks, t)
		case "mvex":
			return children(body, func(typ string, b []byte) error {
				if typ != "trex" {
					return nil
				}
				id, err1 := u32(b, 4)
				dur, err2 := u32(b, 12)
				flags, err3 := u32(b, 20)
				trex = append(trex, track{id: id, defDuration: dur, defFlags: flags})
				return errors.Join(err1, err2, err3)
			})
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(s.tracks) == 0 {
		return fmt.Errorf("%w: no tracks", ErrFormat)
	}
	for i := range s.tracks {
		for _, x := range trex {
			if x.id == s.tracks[i].id {
				t := &s.tracks[i]
				t.defDuration, t.defFlags, t.haveDefDur, t.haveDefFlag = x.defDuration, x.defFlags, true, true
			}
		}
	}
	s.main = 0
	for i, t := range s.tracks {
		if t.video {
			s.main = i
			break
		}
	}
	return nil
}

func readTrak(trak []byte) (track, error) {
	var t track
	err := children(trak, func(typ string, body []byte) error {
		switch typ {
		case "tkhd":
			off := 12 // version 0: flags, creation, modification
			if len(body) > 0 && body[0] == 1 {
				off = 20
			}
			id, err := u32(body, off)
			t.id = id
			return err
		case "mdia":
			return children(body, func(typ string, b []byte) error {
				switch typ {
				case "mdhd":
					off := 12
					if len(b) > 0 && b[0] == 1 {
						off = 20
					}
					ts, err := u32(b, off)
					t.timescale = ts
					return err
				case "hdlr":
					if len(b) < 12 {
						return fmt.Errorf("%w: hdlr too short", ErrFormat)
					}
					t.video = string(b[8:12]) == "vide"
				}
				return nil
			})
		}
		return nil
	})
	if err == nil && t.timescale == 0 {
		err = fmt.Errorf("%w: track %d has no timescale", ErrFormat, t.id)
	}
	return t, err
}

// Sample flags: sample_is_non_sync_sample.
const nonSync = 0x10000

// readMoof times a fragment on the main track; a fragment without it
// (ffmpeg may cut one of audio alone) is timed on its first track and is
// not independent.
func (s *Splitter) readMoof(moof []byte) (Fragment, error) {
	f, found, err := s.timeMoof(moof, s.tracks[s.main])
	if err != nil || found {
		return f, err
	}
	for _, t := range s.tracks {
		if t.id != s.tracks[s.main].id {
			if f, found, err = s.timeMoof(moof, t); err != nil || found {
				f.Independent = false
				return f, err
			}
		}
	}
	return f, fmt.Errorf("%w: a fragment of no known track", ErrFormat)
}

func (s *Splitter) timeMoof(moof []byte, main track) (Fragment, bool, error) {
	var (
		f     Fragment
		found bool
	)
	err := children(moof, func(typ string, traf []byte) error {
		if typ != "traf" || found {
			return nil
		}
		var (
			id                  uint32
			defDur, defFlags    = main.defDuration, main.defFlags
			haveFlags           = main.haveDefFlag
			base                uint64
			dur                 uint64
			first               uint32
			haveFirst, haveTrun bool
		)
		err := children(traf, func(typ string, b []byte) error {
			switch typ {
			case "tfhd":
				flags, err := u32(b, 0)
				if err != nil {
					return err
				}
				if id, err = u32(b, 4); err != nil {
					return err
				}
				off := 8
				if flags&0x01 != 0 { // base data offset
					off += 8
				}
				if flags&0x02 != 0 { // sample description index
					off += 4
				}
				if flags&0x08 != 0 {
					if defDur, err = u32(b, off); err != nil {
						return err
					}
					off += 4
				}
				if flags&0x10 != 0 {
					off += 4
				}
				if flags&0x20 != 0 {
					if defFlags, err = u32(b, off); err != nil {
						return err
					}
					haveFlags = true
				}
			case "tfdt":
				if len(b) > 0 && b[0] == 1 {
					if len(b) < 12 {
						return fmt.Errorf("%w: tfdt too short", ErrFormat)
					}
					base = binary.BigEndian.Uint64(b[4:])
				} else {
					v, err := u32(b, 4)
					if err != nil {
						return err
					}
					base = uint64(v)
				}
			case "trun":
				if haveTrun {
					return nil // ffmpeg writes one per traf; the first is enough to time it
				}
				haveTrun = true
				flags, err := u32(b, 0)
				if err != nil {
					return err
				}
				n, err := u32(b, 4)
				if err != nil {
					return err
				}
				off := 8
				if flags&0x01 != 0 {
					off += 4
				}
				if flags&0x04 != 0 {
					if first, err = u32(b, off); err != nil {
						return err
					}
					haveFirst = true
					off += 4
				}
				per := 0
				for _, bit := range []uint32{0x100, 0x200, 0x400, 0x800} {
					if flags&bit != 0 {
						per += 4
					}
				}
				if uint64(len(b)) < uint64(off)+uint64(n)*uint64(per) {
					return fmt.Errorf("%w: trun of %d samples cut short", ErrFormat, n)
				}
				for i := range int(n) {
					e := b[off+i*per:]
					if flags&0x100 != 0 {
						dur += uint64(binary.BigEndian.Uint32(e))
					} else {
						dur += uint64(defDur)
					}
					if i == 0 && !haveFirst && flags&0x400 != 0 {
						k := 0
						if flags&0x100 != 0 {
							k += 4
						}
						if flags&0x200 != 0 {
							k += 4
						}
						first, haveFirst = binary.BigEndian.Uint32(e[k:]), true
					}
				}
			}
			return nil
		})
		if err != nil || id != main.id {
			return err
		}
		found = true
		if !haveFirst && haveFlags {
			first, haveFirst = defFlags, true
		}
		ts := uint64(main.timescale)
		f.Time = ticks(base, ts)
		f.Duration = ticks(dur, ts)
		f.Independent = haveFirst && first&nonSync == 0
		return nil
	})
	return f, found, err
}

// ticks converts n units of a timescale to a duration without overflow
// for any stream shorter than centuries.
func ticks(n, timescale uint64) time.Duration {
	return time.Duration(n/timescale)*time.Second + time.Duration(n%timescale)*time.Second/time.Duration(timescale)
}
