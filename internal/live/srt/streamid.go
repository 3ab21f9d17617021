package srt

import (
	"errors"
	"strings"
)

// maxStreamID is SRT's limit on a streamid.
const maxStreamID = 512

var (
	errNoKey   = errors.New("the streamid carries no stream key")
	errBadMode = errors.New("the streamid asks for playback (m=request); streams are watched over HLS")
)

// streamKey takes the stream key (internal/live/keys: the stream's name
// and its HMAC) out of a publisher's streamid. It is either the key alone,
// as `hlsflow stream create` prints it, or SRT's access-control syntax,
// which some encoders build from fields: "#!::r=KEY,m=publish".
func streamKey(id string) (string, error) {
	rest, ok := strings.CutPrefix(id, "#!::")
	if !ok {
		if id == "" || strings.ContainsAny(id, ",=#") {
			return "", errNoKey
		}
		return id, nil
	}
	key := ""
	for kv := range strings.SplitSeq(rest, ",") {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "r":
			key = v
		case "m":
			if v != "publish" {
				return "", errBadMode
			}
		}
	}
	if key == "" {
		return "", errNoKey
	}
	return key, nil
}
