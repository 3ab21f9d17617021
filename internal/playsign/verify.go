package playsign

import (
	"errors"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"
)

// Verifier checks grants on media requests, as CloudFront and its
// function do. Build it with NewVerifier.
type Verifier struct {
	keys Keys
	now  func() time.Time
}

// NewVerifier checks that k can verify both forms.
func NewVerifier(k Keys) (*Verifier, error) {
	if k.publicKey(k.KeyPairID) == nil || len(k.TokenKey) < 16 || !validKeyID(k.TokenKeyID) {
		return nil, errors.New("playsign: verifier needs the public key with its Key-Pair-Id and the token key")
	}
	return &Verifier{keys: k, now: time.Now}, nil
}

// SetClock replaces the verifier's clock (tests).
func (v *Verifier) SetClock(now func() time.Time) { v.now = now }

// Check decides whether r may read what it asks for and returns the
// media path to serve: for /p/{token}/vod/{id}/… the path inside the
// token's grant, otherwise r's own path when a signed URL's query or the
// signed cookies allow it. Every error means 403.
func (v *Verifier) Check(r *http.Request) (string, error) {
	now := v.now()
	p := r.URL.Path
	if strings.HasPrefix(p, TokenPrefix) {
		return v.checkToken(p, now)
	}
	// As CloudFront: a signed URL's query first, else the cookies; a
	// custom policy (Policy) or a canned one (Expires).
	q := r.URL.Query()
	pol, exp, sig, id := q.Get(QueryPolicy), q.Get(QueryExpires), q.Get(QuerySignature), q.Get(QueryKeyPairID)
	if sig == "" && pol == "" && exp == "" {
		pol, exp, sig, id = cookie(r, CookiePolicy), cookie(r, CookieExpires), cookie(r, CookieSignature), cookie(r, CookieKeyPairID)
	}
	var err error
	switch {
	case sig == "" && pol == "" && exp == "" && id == "":
		err = ErrMissing
	case sig == "" || id == "" || (pol == "") == (exp == ""):
		err = ErrInvalid
	case pol != "":
		err = v.checkPolicy(pol, sig, id, requestURL(r), remoteAddr(r), now)
	default:
		err = v.checkCanned(exp, sig, id, requestURL(r), remoteAddr(r), now)
	}
	if err != nil {
		return "", err
	}
	return p, nil
}

func cookie(r *http.Request, name string) string {
	c, err := r.Cookie(name)
	if err != nil {
		return ""
	}
	return c.Value
}

// requestURL is the URL a policy's Resource is matched against: the
// viewer's scheme, host and path, and the query without the signing
// parameters.
func requestURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	u := scheme + "://" + r.Host + r.URL.EscapedPath()
	// The other parameters as sent, in their order and encoding.
	var keep []string
	for part := range strings.SplitSeq(r.URL.RawQuery, "&") {
		switch k, _, _ := strings.Cut(part, "="); k {
		case "", QueryPolicy, QuerySignature, QueryKeyPairID, QueryExpires:
		default:
			keep = append(keep, part)
		}
	}
	if len(keep) > 0 {
		u += "?" + strings.Join(keep, "&")
	}
	return u
}

func remoteAddr(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, _ := netip.ParseAddr(host)
	return a
}
