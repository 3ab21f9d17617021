package playsign

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec // CloudFront signs with RSA-SHA1; nothing else verifies.
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// The names CloudFront reads signed URLs and cookies under.
const (
	QueryPolicy     = "Policy"
	QuerySignature  = "Signature"
	QueryKeyPairID  = "Key-Pair-Id"
	CookiePolicy    = "CloudFront-Policy"
	CookieSignature = "CloudFront-Signature"
	CookieKeyPairID = "CloudFront-Key-Pair-Id"
	// The canned policy's expiry, in place of Policy.
	QueryExpires  = "Expires"
	CookieExpires = "CloudFront-Expires"
)

// maxPolicy bounds an encoded policy a viewer may send: ours are ~150
// bytes, and nothing larger is decoded or parsed.
const maxPolicy = 2048

// cfEncoding is CloudFront's URL-safe base64: + becomes -, = becomes _
// and / becomes ~.
var cfReplacer = strings.NewReplacer("+", "-", "=", "_", "/", "~")
var cfUnreplacer = strings.NewReplacer("-", "+", "_", "=", "~", "/")

func cfEncode(b []byte) string { return cfReplacer.Replace(base64.StdEncoding.EncodeToString(b)) }

func cfDecode(s string) ([]byte, error) {
	return base64.StdEncoding.DecodeString(cfUnreplacer.Replace(s))
}

// policy is CloudFront's custom policy: one statement.
type policy struct {
	Statement []statement `json:"Statement"`
}

type statement struct {
	Resource  string    `json:"Resource,omitempty"`
	Condition condition `json:"Condition"`
}

type condition struct {
	DateLessThan    *epoch     `json:"DateLessThan,omitempty"`
	DateGreaterThan *epoch     `json:"DateGreaterThan,omitempty"`
	IPAddress       *sourceIPs `json:"IpAddress,omitempty"`
}

type epoch struct {
	EpochTime int64 `json:"AWS:EpochTime"`
}

type sourceIPs struct {
	SourceIP string `json:"AWS:SourceIp"`
}

// Policy makes the encoded custom policy for resource (a URL, * and ?
// as wildcards) until expires, and its encoded signature.
func (s *Signer) Policy(resource string, expires time.Time) (pol, sig string, err error) {
	b, err := json.Marshal(policy{Statement: []statement{{Resource: resource,
		Condition: condition{DateLessThan: &epoch{EpochTime: expires.Unix()}}}}})
	if err != nil {
		return "", "", err
	}
	h := sha1.Sum(b) //nolint:gosec // CloudFront's algorithm
	raw, err := rsa.SignPKCS1v15(rand.Reader, s.keys.Private, crypto.SHA1, h[:])
	if err != nil {
		return "", "", fmt.Errorf("playsign: sign policy: %w", err)
	}
	return cfEncode(b), cfEncode(raw), nil
}

// checkPolicy verifies an encoded policy and signature made with the key
// named keyPairID, then its conditions for the request to url from addr
// at now, as CloudFront does.
func (v *Verifier) checkPolicy(pol, sig, keyPairID, url string, addr netip.Addr, now time.Time) error {
	pub := v.keys.publicKey(keyPairID)
	if pub == nil || len(pol) > maxPolicy || len(sig) > maxPolicy {
		return ErrInvalid
	}
	b, err := cfDecode(pol)
	if err != nil {
		return ErrInvalid
	}
	return v.checkDoc(b, sig, pub, url, addr, now)
}

// checkCanned verifies a canned policy (Expires instead of Policy, as
// CloudFront's own signers make by default): the signed document is
// rebuilt from the URL requested and the expiry.
func (v *Verifier) checkCanned(expires, sig, keyPairID, url string, addr netip.Addr, now time.Time) error {
	pub := v.keys.publicKey(keyPairID)
	exp, err := strconv.ParseInt(expires, 10, 64)
	if pub == nil || err != nil || len(sig) > maxPolicy || len(url) > maxPolicy {
		return ErrInvalid
	}
	// The document as CloudFront builds it: the URL verbatim (no \u0026
	// for &, as encoding/json would write by default).
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(policy{Statement: []statement{{Resource: url,
		Condition: condition{DateLessThan: &epoch{EpochTime: exp}}}}}); err != nil {
		return ErrInvalid
	}
	return v.checkDoc(bytes.TrimSuffix(buf.Bytes(), []byte("\n")), sig, pub, url, addr, now)
}

// checkDoc verifies the signature of a policy document, then the policy.
func (v *Verifier) checkDoc(b []byte, sig string, pub *rsa.PublicKey, url string, addr netip.Addr, now time.Time) error {
	raw, err := cfDecode(sig)
	if err != nil {
		return ErrInvalid
	}
	h := sha1.Sum(b) //nolint:gosec // CloudFront's algorithm
	if rsa.VerifyPKCS1v15(pub, crypto.SHA1, h[:], raw) != nil {
		return ErrInvalid
	}
	var p policy
	if json.Unmarshal(b, &p) != nil || len(p.Statement) != 1 {
		return ErrInvalid
	}
	st := p.Statement[0]
	c := st.Condition
	if c.DateLessThan == nil {
		return ErrInvalid // CloudFront requires an end
	}
	if now.Unix() >= c.DateLessThan.EpochTime {
		return ErrExpired
	}
	if c.DateGreaterThan != nil && now.Unix() < c.DateGreaterThan.EpochTime {
		return ErrInvalid
	}
	if c.IPAddress != nil {
		pfx, err := parsePrefix(c.IPAddress.SourceIP)
		if err != nil || !pfx.Contains(addr.Unmap()) {
			return ErrInvalid
		}
	}
	if st.Resource != "" && !wildcardMatch(st.Resource, url) {
		return ErrScope
	}
	return nil
}

func parsePrefix(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// wildcardMatch matches s against pattern, where * is any run of
// characters (slashes too) and ? exactly one, as CloudFront's Resource.
// It runs in O(len(pattern)·len(s)) at worst, without recursion.
func wildcardMatch(pattern, s string) bool {
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && (pattern[p] == '?' || pattern[p] == s[i]):
			p++
			i++
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case star >= 0:
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}
