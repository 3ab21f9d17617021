package transcode

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
)

// tsPacket is the size of an MPEG-TS packet.
const tsPacket = 188

// avcCodecs reads the RFC 6381 codec string ("avc1.PPCCLL") of the H.264
// video in an MPEG-TS segment from its sequence parameter set.
//
// The master playlist must name what was encoded, not what was asked for:
// x264 treats the requested profile as a ceiling and signals the lowest one
// the chosen preset needs (ultrafast gives Constrained Baseline even with
// -profile high), so CODECS is taken from the stream itself.
func avcCodecs(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	// The SPS comes with the segment's first keyframe, at its start.
	head := make([]byte, 64*tsPacket)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	es := videoES(head[:n-n%tsPacket])
	for i := 0; i+6 < len(es); i++ {
		if es[i] == 0 && es[i+1] == 0 && es[i+2] == 1 && es[i+3]&0x1f == 7 {
			return fmt.Sprintf("avc1.%02x%02x%02x", es[i+4], es[i+5], es[i+6]), nil
		}
	}
	return "", fmt.Errorf("%s: no H.264 sequence parameter set in its first packets", path)
}

// videoES joins the payloads of the first video PES stream (stream ids
// 0xE0-0xEF) found in ts, without their PES headers.
func videoES(ts []byte) []byte {
	var es []byte
	pid := -1
	for off := 0; off+tsPacket <= len(ts); off += tsPacket {
		p := ts[off : off+tsPacket]
		if p[0] != 0x47 {
			return es
		}
		id := int(p[1]&0x1f)<<8 | int(p[2])
		start := p[1]&0x40 != 0
		payload := 4
		if p[3]&0x20 != 0 { // adaptation field
			payload += 1 + int(p[4])
		}
		if p[3]&0x10 == 0 || payload >= tsPacket {
			continue // no payload
		}
		data := p[payload:]
		if pid < 0 && start && len(data) > 9 && bytes.HasPrefix(data, []byte{0, 0, 1}) && data[3]&0xf0 == 0xe0 {
			pid = id
		}
		if id != pid {
			continue
		}
		if start {
			if len(data) < 9 || 9+int(data[8]) > len(data) {
				continue
			}
			data = data[9+int(data[8]):]
		}
		es = append(es, data...)
	}
	return es
}
