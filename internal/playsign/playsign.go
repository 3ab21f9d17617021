// Package playsign mints and checks playback grants, in the two forms
// CloudFront can verify, so that the local edge and the deployed stack
// accept exactly the same grants:
//
//   - CloudFront signed URLs and signed cookies (custom policy, RSA-SHA1
//     with the operator's key pair, CloudFront's URL-safe base64, the
//     Key-Pair-Id of the public key), which CloudFront checks itself with a
//     trusted key group (policy.go);
//   - a path token, /p/{token}/vod/{id}/…, which every relative URI in a
//     playlist keeps, so ffmpeg, hls.js and Safari carry the grant to every
//     segment; on AWS the CloudFront Function playbacktoken.js checks it
//     with the same HMAC (token.go).
package playsign

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Errors a check returns; all mean 403 to the viewer.
var (
	ErrMissing = errors.New("no playback grant")
	ErrInvalid = errors.New("playback grant is not valid")
	ErrExpired = errors.New("playback grant has expired")
	ErrScope   = errors.New("playback grant is for other media")
)

// MaxTTL bounds a grant's lifetime: a leaked URL stops working within it.
const MaxTTL = 7 * 24 * time.Hour

// Scope is what a grant is for: a video's folder (vod/{id}) or a live
// stream's (live/{name}); everything under it plays.
type Scope struct {
	Kind string // "vod" or "live"
	Name string // video id or stream name
}

// Valid reports whether s names a folder under vod/ or live/ with a name
// that is one plain path segment.
func (s Scope) Valid() bool {
	return (s.Kind == "vod" || s.Kind == "live") && validName(s.Name)
}

// Prefix is the scope's path, "/vod/{id}/".
func (s Scope) Prefix() string { return "/" + s.Kind + "/" + s.Name + "/" }

func (s Scope) String() string { return s.Kind + "/" + s.Name }

// validName accepts what the edge accepts as a path segment: letters,
// digits and -_.~, not starting with a dot, at most 255 bytes.
func validName(s string) bool {
	if s == "" || s[0] == '.' || len(s) > 255 {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '-', c == '_', c == '.', c == '~':
		default:
			return false
		}
	}
	return true
}

// Grant is what the API hands out for one scope: a URL that plays as is
// (the path token) and the cookies and query of the CloudFront form.
type Grant struct {
	URL     string    // {base}/p/{token}/vod/{id}/master.m3u8
	Expires time.Time // the end of the grant, to the second
	// SignedURL is {base}/vod/{id}/master.m3u8 with CloudFront's custom
	// policy query; only the master itself plays with it (relative URIs
	// lose the query), so players need the cookies for the rest. Live
	// grants have neither (see Grant).
	SignedURL string
	Cookies   []*http.Cookie
}

// Signer mints grants. Build it with NewSigner.
type Signer struct {
	keys Keys
}

// NewSigner checks that keys can sign both forms.
func NewSigner(k Keys) (*Signer, error) {
	if k.Private == nil || k.KeyPairID == "" {
		return nil, errors.New("playsign: signer needs the private key and its Key-Pair-Id")
	}
	if len(k.TokenKey) < 16 || !validKeyID(k.TokenKeyID) {
		return nil, errors.New("playsign: signer needs a token key of 16 bytes or more and a key id of 1-32 letters, digits, - or _")
	}
	return &Signer{keys: k}, nil
}

// Grant mints a grant for scope until expires, for media served at base
// (the CDN's URL, e.g. https://d111.cloudfront.net); file is the playlist
// the URLs name, normally master.m3u8. Cookies are marked Secure when
// base is https.
func (s *Signer) Grant(base string, scope Scope, file string, expires time.Time) (*Grant, error) {
	if !scope.Valid() {
		return nil, fmt.Errorf("playsign: bad scope %q", scope)
	}
	base = strings.TrimSuffix(base, "/")
	scheme, host, ok := strings.Cut(base, "://")
	if !ok || (scheme != "http" && scheme != "https") || host == "" || strings.ContainsAny(host, "/?#*") {
		return nil, fmt.Errorf("playsign: base %q is not a scheme and host", base)
	}
	expires = expires.Truncate(time.Second)
	tok := s.Token(scope, expires)
	// The scheme and host are literal: a wildcard before the path would
	// let a grant for one video match another's URL with this one's path
	// in its query string.
	resource := base + scope.Prefix() + "*"
	pol, sig, err := s.Policy(resource, expires)
	if err != nil {
		return nil, err
	}
	g := &Grant{URL: base + "/p/" + tok + scope.Prefix() + file, Expires: expires}
	if scope.Kind == "live" {
		// A live playlist names its segments in the recording's folder
		// (vod/{name}-{date}-{time}/), which one CloudFront policy for
		// live/{name}/* cannot also cover without opening other videos:
		// live plays with the path token only, which opens both.
		return g, nil
	}
	g.SignedURL = base + scope.Prefix() + file + "?Policy=" + pol + "&Signature=" + sig + "&Key-Pair-Id=" + s.keys.KeyPairID
	for _, c := range [][2]string{{CookiePolicy, pol}, {CookieSignature, sig}, {CookieKeyPairID, s.keys.KeyPairID}} {
		g.Cookies = append(g.Cookies, &http.Cookie{Name: c[0], Value: c[1], Path: scope.Prefix(), Expires: expires,
			HttpOnly: true, Secure: scheme == "https", SameSite: http.SameSiteLaxMode})
	}
	return g, nil
}
