package srt

// MPEG-TS framing.
const (
	packetSize = 188
	syncByte   = 0x47
	nullPID    = 0x1fff
)

// packetizer cuts the bytes of a publisher's messages into whole TS
// packets. Encoders send seven packets a message, but nothing in SRT makes
// a message hold whole packets, so a packet may span two. Bytes that are
// not TS are skipped until two sync bytes a packet apart show the
// boundary again; null packets (stuffing) are dropped, so they neither
// reach the transcoder nor count as a live feed.
type packetizer struct {
	rest   []byte // the start of a packet, or bytes not yet known to be one
	synced bool
}

// add appends the whole packets of b (after what was left of the last
// call) to out[:0] and returns them with the count of bytes skipped.
func (p *packetizer) add(b, out []byte) (pkts []byte, junk int) {
	data := append(p.rest, b...)
	out = out[:0]
	i := 0
	for len(data)-i >= packetSize {
		// A packet is known by the sync byte of the next one; the last
		// one in is taken on trust while the stream is in sync.
		last := len(data)-i == packetSize
		if data[i] == syncByte && (last && p.synced || !last && data[i+packetSize] == syncByte) {
			p.synced = true
			if pkt := data[i : i+packetSize]; uint16(pkt[1]&0x1f)<<8|uint16(pkt[2]) != nullPID {
				out = append(out, pkt...)
			}
			i += packetSize
			continue
		}
		if last && data[i] == syncByte {
			break // the next bytes will tell
		}
		p.synced = false
		i++
		junk++
	}
	p.rest = data[:copy(data, data[i:])]
	return out, junk
}
