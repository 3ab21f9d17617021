package playsign

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// TokenPrefix starts every path-token URL: /p/{token}/vod/{id}/….
const TokenPrefix = "/p/"

// macHex is how many hex digits of the HMAC a token carries (128 bits).
const macHex = 32

// A token is "{expires}.{key id}.{mac}": expires in Unix seconds, the id
// of the HMAC key (so keys can rotate: several are known, one signs), and
// the first 128 bits of HMAC-SHA256(key, "hlsflow-playback-v1\n" + scope +
// "\n" + expires) in lower-case hex. playbacktoken.js computes the same.
func tokenMAC(key []byte, scope Scope, exp string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("hlsflow-playback-v1\n" + scope.String() + "\n" + exp))
	return hex.EncodeToString(m.Sum(nil))[:macHex]
}

// Token mints the path token for scope until expires.
func (s *Signer) Token(scope Scope, expires time.Time) string {
	exp := strconv.FormatInt(expires.Unix(), 10)
	return exp + "." + s.keys.TokenKeyID + "." + tokenMAC(s.keys.TokenKey, scope, exp)
}

// checkToken verifies the token of a path under /p/ and returns the path
// the grant opens (/vod/{id}/…).
func (v *Verifier) checkToken(p string, now time.Time) (string, error) {
	rest, ok := strings.CutPrefix(p, TokenPrefix)
	if !ok {
		return "", ErrMissing
	}
	tok, inner, ok := strings.Cut(rest, "/")
	if !ok {
		return "", ErrInvalid
	}
	kind, rest, _ := strings.Cut(inner, "/")
	name, file, ok := strings.Cut(rest, "/")
	scope := Scope{Kind: kind, Name: name}
	if !ok || !scope.Valid() {
		return "", ErrInvalid
	}
	for seg := range strings.SplitSeq(file, "/") {
		if !validName(seg) {
			return "", ErrInvalid
		}
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 || len(parts[0]) == 0 || len(parts[0]) > 12 || len(parts[2]) != macHex {
		return "", ErrInvalid
	}
	exp, err := strconv.ParseInt(parts[0], 10, 64)
	if err != nil || exp < 0 || strconv.FormatInt(exp, 10) != parts[0] {
		return "", ErrInvalid
	}
	key := v.keys.tokenKey(parts[1])
	if key == nil {
		return "", ErrInvalid
	}
	ok = hmac.Equal([]byte(tokenMAC(key, scope, parts[0])), []byte(parts[2]))
	if stream, rec := recordingOf(scope); !ok && rec {
		// A live playlist names its segments where the recording keeps
		// them (../../../vod/{name}-{date}-{time}/…, internal/live/publish):
		// a stream's grant opens its recordings.
		ok = hmac.Equal([]byte(tokenMAC(key, Scope{Kind: "live", Name: stream}, parts[0])), []byte(parts[2]))
	}
	if !ok {
		// A grant for another video fails here too: the scope is signed.
		return "", ErrInvalid
	}
	if now.Unix() >= exp {
		return "", ErrExpired
	}
	return "/" + inner, nil
}

func validKeyID(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_':
		default:
			return false
		}
	}
	return true
}

// recording matches a recording's id, {stream}-{YYYYMMDD}-{HHMMSS}
// (internal/live/publish names them so); the stream is the first group.
var recording = regexp.MustCompile(`^(.+)-[0-9]{8}-[0-9]{6}$`)

// recordingOf reports whether scope is a recording, and of which stream.
func recordingOf(scope Scope) (string, bool) {
	if scope.Kind != "vod" {
		return "", false
	}
	m := recording.FindStringSubmatch(scope.Name)
	if m == nil {
		return "", false
	}
	return m[1], true
}
