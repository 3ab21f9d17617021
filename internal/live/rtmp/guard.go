package rtmp

import (
	"errors"
	"fmt"
	"net"
)

// The RTMP library buffers whatever a peer announces: a message of up to
// 10 MB on each of 62 chunk streams, and with a chunk size of 1 each
// received byte costs it a slice of its own. guard reads the connection's
// bytes just ahead of the library, follows the chunk framing the same way,
// and refuses a connection before the library buffers more than the
// limits allow. Before the stream key is accepted the limits are those of a
// few small commands; after, those of large video frames.

// Limits of the chunk stream.
const (
	// minChunkSize is RTMP's initial chunk size; no real publisher sets a
	// smaller one.
	minChunkSize = 128
	// maxChunkSize is the library's own limit.
	maxChunkSize = 10 << 20
	// preAuthBytes bounds everything read before the key is accepted: the
	// handshake (3073 bytes) and a few commands of a few hundred bytes.
	preAuthBytes = 64 << 10
	// DefaultMaxMessage bounds one RTMP message (a video frame) once the
	// key is accepted: an H.264 IDR of a 4K feed at a high bit rate fits.
	DefaultMaxMessage = 8 << 20
	// extraBuffered is what may be in progress on other chunk streams
	// (audio, metadata) next to one message of the maximum size.
	extraBuffered = 1 << 20
	handshakeSize = 1536 // C1 and C2
	plainVersion  = 3
	rtmpeVersion  = 6
)

// errLimit marks a connection refused by the guard.
var errLimit = errors.New("rtmp limit")

type chunkStream struct {
	started bool // a type 0 chunk set the header
	typ     byte
	bodyLen int
	recv    int // bytes of the message in progress
	pending int // of which the library holds as fragments
	ext     bool
}

type guard struct {
	net.Conn
	maxMessage int // after authorize
	authorized bool

	read      int64
	hsLeft    int // handshake bytes still to pass; -1 before C0
	hdr       [16]byte
	hn        int
	chunkLeft int // body bytes of the current chunk still to pass
	cur       *chunkStream
	ctrl      []byte // body of a 4-byte control message being read
	chunkSize int
	buffered  int
	streams   [64]chunkStream
	err       error
}

func newGuard(c net.Conn, maxMessage int) *guard {
	return &guard{Conn: c, maxMessage: maxMessage, hsLeft: -1, chunkSize: minChunkSize}
}

// authorize lifts the pre-key limits: the publisher holds a valid key.
func (g *guard) authorize() { g.authorized = true }

// violation is the reason the guard refused the connection, nil if it did
// not.
func (g *guard) violation() error { return g.err }

func (g *guard) Read(p []byte) (int, error) {
	if g.err != nil {
		return 0, g.err
	}
	n, err := g.Conn.Read(p)
	if n > 0 {
		if verr := g.feed(p[:n]); verr != nil {
			g.err = fmt.Errorf("%w: %w", errLimit, verr)
			return 0, g.err
		}
	}
	return n, err
}

func (g *guard) limits() (msg, buffered int) {
	if !g.authorized {
		return preAuthBytes, preAuthBytes
	}
	return g.maxMessage, g.maxMessage + extraBuffered
}

// feed follows the bytes the library is about to read.
func (g *guard) feed(b []byte) error {
	g.read += int64(len(b))
	if !g.authorized && g.read > preAuthBytes {
		return fmt.Errorf("more than %d bytes before the stream key", preAuthBytes)
	}
	for len(b) > 0 {
		switch {
		case g.hsLeft < 0:
			switch b[0] {
			case plainVersion:
			case rtmpeVersion:
				return errors.New("encrypted rtmp (rtmpe) is not supported")
			default:
				return fmt.Errorf("not rtmp (version byte %d)", b[0])
			}
			g.hsLeft = 2 * handshakeSize
			b = b[1:]
		case g.hsLeft > 0:
			n := min(g.hsLeft, len(b))
			g.hsLeft -= n
			b = b[n:]
		case g.chunkLeft > 0:
			n := min(g.chunkLeft, len(b))
			if g.ctrl != nil {
				g.ctrl = append(g.ctrl, b[:n]...)
			}
			g.chunkLeft -= n
			b = b[n:]
			if g.chunkLeft == 0 {
				if err := g.endChunk(); err != nil {
					return err
				}
			}
		default:
			g.hdr[g.hn] = b[0]
			g.hn++
			b = b[1:]
			done, err := g.header()
			if err != nil {
				return err
			}
			if done && g.chunkLeft == 0 {
				if err := g.endChunk(); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func u24(b []byte) int { return int(b[0])<<16 | int(b[1])<<8 | int(b[2]) }

// header takes the chunk header so far; done reports that it is complete
// and the chunk's body length known. It mirrors the library's reader.
func (g *guard) header() (done bool, err error) {
	fmtType, csid := g.hdr[0]>>6, g.hdr[0]&0x3f
	if csid < 2 {
		return false, errors.New("extended chunk stream ids are not supported")
	}
	cs := &g.streams[csid]
	size := [4]int{12, 8, 4, 1}[fmtType]
	extAt := 0 // where the extended timestamp starts, 0 if none
	switch fmtType {
	case 0, 1, 2:
		if g.hn >= 4 && u24(g.hdr[1:4]) == 0xffffff {
			extAt = size
		}
	case 3:
		if cs.ext {
			extAt = size
		}
	}
	if g.hn < size || (extAt > 0 && g.hn < extAt+4) {
		return false, nil
	}
	g.hn = 0
	if extAt > 0 && fmtType != 3 {
		// The library goes on reading extended timestamps in type 3
		// chunks only while the extended value itself is that large.
		e := g.hdr[extAt:]
		cs.ext = uint32(e[0])<<24|uint32(e[1])<<16|uint32(e[2])<<8|uint32(e[3]) >= 0xffffff
	} else if fmtType != 3 {
		cs.ext = false
	}
	maxMsg, _ := g.limits()
	switch fmtType {
	case 0, 1:
		if cs.recv != 0 {
			return false, errors.New("new message header in the middle of a message")
		}
		if fmtType == 1 && !cs.started {
			return false, errors.New("type 1 chunk without a previous chunk")
		}
		cs.started = true
		cs.bodyLen, cs.typ = u24(g.hdr[4:7]), g.hdr[7]
		if cs.bodyLen > maxMsg {
			return false, fmt.Errorf("message of %d bytes (limit %d)", cs.bodyLen, maxMsg)
		}
		g.chunkLeft = min(cs.bodyLen, g.chunkSize)
	case 2:
		if !cs.started || cs.recv != 0 {
			return false, errors.New("type 2 chunk out of place")
		}
		g.chunkLeft = min(cs.bodyLen, g.chunkSize)
	case 3:
		if cs.recv == 0 && !cs.started {
			return false, errors.New("type 3 chunk without a previous chunk")
		}
		g.chunkLeft = min(cs.bodyLen-cs.recv, g.chunkSize)
	}
	g.cur = cs
	g.ctrl = nil
	if (cs.typ == 1 || cs.typ == 2) && cs.bodyLen == 4 {
		g.ctrl = make([]byte, 0, 4)
	}
	cs.recv += g.chunkLeft
	if cs.recv < cs.bodyLen {
		cs.pending += g.chunkLeft
		g.buffered += g.chunkLeft
		if _, maxBuf := g.limits(); g.buffered > maxBuf {
			return false, fmt.Errorf("%d bytes of unfinished messages (limit %d)", g.buffered, maxBuf)
		}
	}
	return true, nil
}

// endChunk runs when the current chunk's body has passed: a finished
// message releases its buffered bytes, and the control messages that change
// the framing are applied as the library applies them.
func (g *guard) endChunk() error {
	cs := g.cur
	if cs.recv < cs.bodyLen {
		return nil
	}
	g.buffered -= cs.pending
	cs.recv, cs.pending = 0, 0
	if len(g.ctrl) != 4 {
		return nil
	}
	v := int(uint32(g.ctrl[0])<<24 | uint32(g.ctrl[1])<<16 | uint32(g.ctrl[2])<<8 | uint32(g.ctrl[3]))
	g.ctrl = nil
	switch cs.typ {
	case 1: // set chunk size
		// A large chunk size costs nothing more: a chunk is never longer
		// than its message, which the limits bound.
		if v < minChunkSize || v > maxChunkSize {
			return fmt.Errorf("chunk size %d (allowed %d to %d)", v, minChunkSize, maxChunkSize)
		}
		g.chunkSize = v
	case 2: // abort message
		if v >= 2 && v <= 63 {
			// As the library does: drop the fragments; the stream's next
			// type 3 chunk then starts an empty message.
			if a := &g.streams[v]; a.recv != 0 {
				g.buffered -= a.pending
				a.recv, a.pending, a.bodyLen = 0, 0, 0
			}
		}
	}
	return nil
}
