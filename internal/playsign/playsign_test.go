package playsign

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	keyOnce sync.Once
	testKey *rsa.PrivateKey
)

// testKeys are a fresh key pair (made once per test binary) and token key.
func testKeys(t testing.TB) Keys {
	t.Helper()
	keyOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		testKey = k
	})
	return Keys{KeyPairID: "K2JCJMDEHXQW5F", Private: testKey, TokenKeyID: "k1", TokenKey: []byte("0123456789abcdef0123456789abcdef")}
}

func newPair(t *testing.T, now time.Time) (*Signer, *Verifier) {
	t.Helper()
	k := testKeys(t)
	s, err := NewSigner(k)
	if err != nil {
		t.Fatal(err)
	}
	pub := k
	pub.Private, pub.Public = nil, &k.Private.PublicKey
	v, err := NewVerifier(pub)
	if err != nil {
		t.Fatal(err)
	}
	v.SetClock(func() time.Time { return now })
	return s, v
}

func get(t *testing.T, rawURL string, cookies []*http.Cookie) *http.Request {
	t.Helper()
	r := httptest.NewRequest("GET", rawURL, nil)
	r.RemoteAddr = "192.0.2.7:5555"
	for _, c := range cookies {
		r.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	return r
}

// Every form of a grant opens its own video until it expires, and nothing
// else: expired, tampered, another video's, none at all.
func TestGrantMatrix(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	s, v := newPair(t, now)
	vid := Scope{"vod", "abc123"}
	g, err := s.Grant("http://127.0.0.1:8080", vid, "master.m3u8", now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	old, err := s.Grant("http://127.0.0.1:8080", vid, "master.m3u8", now.Add(-time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if !g.Expires.Equal(now.Add(time.Hour)) {
		t.Errorf("expires %v", g.Expires)
	}
	query := g.SignedURL[strings.Index(g.SignedURL, "?"):]
	tokenPath := strings.TrimPrefix(g.URL, "http://127.0.0.1:8080")
	token := strings.Split(tokenPath, "/")[2]
	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == 'a' {
			b[i] = 'b'
		} else {
			b[i] = 'a'
		}
		return string(b)
	}
	tamperedCookies := func() []*http.Cookie {
		var cs []*http.Cookie
		for _, c := range g.Cookies {
			c2 := *c
			if c.Name == CookiePolicy {
				c2.Value = flip(c.Value, 20)
			}
			cs = append(cs, &c2)
		}
		return cs
	}()
	for _, tc := range []struct {
		name    string
		url     string
		cookies []*http.Cookie
		path    string // "" when refused
		err     error
	}{
		{"token master", g.URL, nil, "/vod/abc123/master.m3u8", nil},
		{"token segment", "http://127.0.0.1:8080/p/" + token + "/vod/abc123/720p/seg_1_00001.ts", nil, "/vod/abc123/720p/seg_1_00001.ts", nil},
		{"token on another host", "http://192.168.1.5:8080/p/" + token + "/vod/abc123/master.m3u8", nil, "/vod/abc123/master.m3u8", nil},
		{"token other video", "http://127.0.0.1:8080/p/" + token + "/vod/abc124/master.m3u8", nil, "", ErrInvalid},
		{"token as live", "http://127.0.0.1:8080/p/" + token + "/live/abc123/master.m3u8", nil, "", ErrInvalid},
		{"token expired", old.URL, nil, "", ErrExpired},
		{"token tampered mac", "http://127.0.0.1:8080/p/" + flip(token, len(token)-1) + "/vod/abc123/master.m3u8", nil, "", ErrInvalid},
		{"token later expiry", "http://127.0.0.1:8080/p/" + strings.Replace(token, "1800003600", "1800007200", 1) + "/vod/abc123/master.m3u8", nil, "", ErrInvalid},
		{"token unknown key", "http://127.0.0.1:8080/p/" + strings.Replace(token, ".k1.", ".k2.", 1) + "/vod/abc123/master.m3u8", nil, "", ErrInvalid},
		{"token dot-dot", "http://127.0.0.1:8080/p/" + token + "/vod/abc123/%2e%2e/x/master.m3u8", nil, "", ErrInvalid},
		{"token no file", "http://127.0.0.1:8080/p/" + token + "/vod/abc123/", nil, "", ErrInvalid},
		{"token garbage", "http://127.0.0.1:8080/p/x/vod/abc123/master.m3u8", nil, "", ErrInvalid},
		{"signed url master", g.SignedURL, nil, "/vod/abc123/master.m3u8", nil},
		{"signed url segment", "http://127.0.0.1:8080/vod/abc123/720p/seg.ts" + query, nil, "/vod/abc123/720p/seg.ts", nil},
		{"signed url https", "https://127.0.0.1:8080/vod/abc123/master.m3u8" + query, nil, "", ErrScope},
		{"signed url, this video in another's query", "http://127.0.0.1:8080/vod/other/master.m3u8?x=http://127.0.0.1:8080/vod/abc123/&" + strings.TrimPrefix(query, "?"), nil, "", ErrScope},
		{"signed url other host", "http://127.0.0.2:8080/vod/abc123/master.m3u8" + query, nil, "", ErrScope},
		{"signed url other video", "http://127.0.0.1:8080/vod/abc1234/master.m3u8" + query, nil, "", ErrScope},
		{"signed url live", "http://127.0.0.1:8080/live/abc123/master.m3u8" + query, nil, "", ErrScope},
		{"signed url expired", old.SignedURL, nil, "", ErrExpired},
		{"signed url tampered", "http://127.0.0.1:8080/vod/abc123/master.m3u8" + strings.Replace(query, "Policy=", "Policy=e", 1), nil, "", ErrInvalid},
		{"signed url other key pair", "http://127.0.0.1:8080/vod/abc123/master.m3u8" + strings.Replace(query, "K2JCJMDEHXQW5F", "KOTHER", 1), nil, "", ErrInvalid},
		{"signed url without policy", "http://127.0.0.1:8080/vod/abc123/master.m3u8?Signature=abc&Key-Pair-Id=K2JCJMDEHXQW5F", nil, "", ErrInvalid},
		{"cookies", "http://127.0.0.1:8080/vod/abc123/360p/index_1.m3u8", g.Cookies, "/vod/abc123/360p/index_1.m3u8", nil},
		{"cookies other video", "http://127.0.0.1:8080/vod/zzz/master.m3u8", g.Cookies, "", ErrScope},
		{"cookies expired", "http://127.0.0.1:8080/vod/abc123/master.m3u8", old.Cookies, "", ErrExpired},
		{"cookies tampered", "http://127.0.0.1:8080/vod/abc123/master.m3u8", tamperedCookies, "", ErrInvalid},
		{"nothing", "http://127.0.0.1:8080/vod/abc123/master.m3u8", nil, "", ErrMissing},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := v.Check(get(t, tc.url, tc.cookies))
			if !errors.Is(err, tc.err) || p != tc.path {
				t.Errorf("Check = %q, %v; want %q, %v", p, err, tc.path, tc.err)
			}
		})
	}
}

// CloudFront's URL-safe base64 never has +, = or /, and its cookies are
// scoped to the video.
func TestEncodingAndCookies(t *testing.T) {
	now := time.Now()
	s, _ := newPair(t, now)
	if l, err := s.Grant("https://d111.cloudfront.net", Scope{"live", "show"}, "master.m3u8", now.Add(time.Minute)); err != nil || l.SignedURL != "" || len(l.Cookies) != 0 {
		t.Errorf("live grant %+v %v: cookies and signed URLs cannot open its segments", l, err)
	}
	g, err := s.Grant("https://d111.cloudfront.net", Scope{"vod", "show"}, "master.m3u8", now.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range g.Cookies {
		if strings.ContainsAny(c.Value, "+=/") {
			t.Errorf("%s %q is not CloudFront's URL-safe base64", c.Name, c.Value)
		}
		if !c.Secure || !c.HttpOnly || c.Path != "/vod/show/" {
			t.Errorf("cookie %s: secure %v httponly %v path %q", c.Name, c.Secure, c.HttpOnly, c.Path)
		}
	}
	pol, err := cfDecode(g.Cookies[0].Value)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"Statement":[{"Resource":"https://d111.cloudfront.net/vod/show/*","Condition":{"DateLessThan":{"AWS:EpochTime":` + strconv.FormatInt(g.Expires.Unix(), 10) + `}}}]}`
	if string(pol) != want {
		t.Errorf("policy %s, want %s", pol, want)
	}
}

// The signature is plain RSA-SHA1 PKCS#1 v1.5, as openssl checks it: what
// CloudFront verifies, independently of this package's own verifier.
func TestSignatureVerifiesWithOpenSSL(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not installed")
	}
	s, _ := newPair(t, time.Now())
	pol, sig, err := s.Policy("https://d111.cloudfront.net/vod/x/*", time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	pb, _ := cfDecode(pol)
	sb, _ := cfDecode(sig)
	pub, err := PublicPEM(&s.keys.Private.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{"policy": pb, "sig": sb, "pub.pem": pub} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	verify := func() error {
		return exec.Command("openssl", "dgst", "-sha1", "-verify", filepath.Join(dir, "pub.pem"), "-signature", filepath.Join(dir, "sig"), filepath.Join(dir, "policy")).Run()
	}
	if err := verify(); err != nil {
		t.Fatalf("openssl refuses the signature: %v", err)
	}
	pb[len(pb)-3] ^= 1
	if err := os.WriteFile(filepath.Join(dir, "policy"), pb, 0o600); err != nil {
		t.Fatal(err)
	}
	if verify() == nil {
		t.Fatal("openssl accepts a changed policy: the check proves nothing")
	}
}

// Policy conditions CloudFront knows, signed by the operator's key.
func TestPolicyConditions(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	s, v := newPair(t, now)
	sign := func(doc string) (string, string) {
		t.Helper()
		h := sha1Sum([]byte(doc))
		raw, err := rsa.SignPKCS1v15(rand.Reader, s.keys.Private, cryptoSHA1, h)
		if err != nil {
			t.Fatal(err)
		}
		return cfEncode([]byte(doc)), cfEncode(raw)
	}
	for _, tc := range []struct {
		name, doc string
		want      error
	}{
		{"no end", `{"Statement":[{"Resource":"http://h/vod/a/*","Condition":{}}]}`, ErrInvalid},
		{"not yet", `{"Statement":[{"Resource":"http://h/vod/a/*","Condition":{"DateLessThan":{"AWS:EpochTime":1800003600},"DateGreaterThan":{"AWS:EpochTime":1800000100}}}]}`, ErrInvalid},
		{"started", `{"Statement":[{"Resource":"http://h/vod/a/*","Condition":{"DateLessThan":{"AWS:EpochTime":1800003600},"DateGreaterThan":{"AWS:EpochTime":1799999999}}}]}`, nil},
		{"ip allowed", `{"Statement":[{"Resource":"http://h/vod/a/*","Condition":{"DateLessThan":{"AWS:EpochTime":1800003600},"IpAddress":{"AWS:SourceIp":"192.0.2.0/24"}}}]}`, nil},
		{"ip refused", `{"Statement":[{"Resource":"http://h/vod/a/*","Condition":{"DateLessThan":{"AWS:EpochTime":1800003600},"IpAddress":{"AWS:SourceIp":"198.51.100.0/24"}}}]}`, ErrInvalid},
		{"two statements", `{"Statement":[{"Resource":"http://h/vod/a/*","Condition":{"DateLessThan":{"AWS:EpochTime":1800003600}}},{"Resource":"*","Condition":{"DateLessThan":{"AWS:EpochTime":1800003600}}}]}`, ErrInvalid},
		{"not json", `Statement`, ErrInvalid},
		{"single char wildcard", `{"Statement":[{"Resource":"http://h/vod/?/*","Condition":{"DateLessThan":{"AWS:EpochTime":1800003600}}}]}`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pol, sig := sign(tc.doc)
			r := get(t, "http://h/vod/a/master.m3u8?Policy="+pol+"&Signature="+sig+"&Key-Pair-Id=K2JCJMDEHXQW5F", nil)
			if _, err := v.Check(r); !errors.Is(err, tc.want) {
				t.Errorf("Check: %v, want %v", err, tc.want)
			}
		})
	}
}

func TestWildcardMatch(t *testing.T) {
	for _, tc := range []struct {
		p, s string
		want bool
	}{
		{"http*://h/vod/a/*", "https://h/vod/a/x/y.ts", true},
		{"http*://h/vod/a/*", "http://h/vod/ab/x.ts", false},
		{"http*://h/vod/a/*", "http://h/vod/a", false},
		{"*", "anything", true},
		{"a?c", "abc", true},
		{"a?c", "ac", false},
		{"*a*a*a*a*a*b", strings.Repeat("a", 5000), false},
	} {
		if got := wildcardMatch(tc.p, tc.s); got != tc.want {
			t.Errorf("wildcardMatch(%q, %q) = %v", tc.p, tc.s, got)
		}
	}
}

// Abuse: huge or malformed grants are refused without work.
func TestHostileGrants(t *testing.T) {
	_, v := newPair(t, time.Now())
	huge := strings.Repeat("A", 1<<20)
	for name, u := range map[string]string{
		"huge policy":    "http://h/vod/a/m.m3u8?Policy=" + huge + "&Signature=x&Key-Pair-Id=K2JCJMDEHXQW5F",
		"huge signature": "http://h/vod/a/m.m3u8?Policy=x&Signature=" + huge + "&Key-Pair-Id=K2JCJMDEHXQW5F",
		"bad base64":     "http://h/vod/a/m.m3u8?Policy=!!&Signature=!!&Key-Pair-Id=K2JCJMDEHXQW5F",
		"huge token":     "http://h/p/" + huge + "/vod/a/m.m3u8",
		"long expiry":    "http://h/p/99999999999999999999.k1." + strings.Repeat("0", 32) + "/vod/a/m.m3u8",
		"leading zero":   "http://h/p/01800003600.k1." + strings.Repeat("0", 32) + "/vod/a/m.m3u8",
	} {
		r := get(t, u, nil)
		start := time.Now()
		if _, err := v.Check(r); err == nil {
			t.Errorf("%s: accepted", name)
		}
		// Parsing a 1 MiB query is all the work; decoding or an RSA check
		// of it would take far longer.
		if d := time.Since(start); d > time.Second {
			t.Errorf("%s: took %v", name, d)
		}
	}
}

// LoadDir makes the keys once and reads the same ones afterwards.
func TestLoadDir(t *testing.T) {
	dir := t.TempDir()
	a, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	b, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if a.KeyPairID != b.KeyPairID || !a.Private.Equal(b.Private) || string(a.TokenKey) != string(b.TokenKey) {
		t.Error("a second load made new keys")
	}
	if fi, err := os.Stat(filepath.Join(dir, PrivateKeyFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("private key file: %v %v", fi.Mode(), err)
	}
	s, err := NewSigner(a)
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewVerifier(b)
	if err != nil {
		t.Fatal(err)
	}
	g, err := s.Grant("http://127.0.0.1:1", Scope{"vod", "v"}, "master.m3u8", time.Now().Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Check(get(t, g.URL, nil)); err != nil {
		t.Errorf("a grant made with the loaded keys: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, PrivateKeyFile), []byte("junk"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadDir(dir); err == nil {
		t.Error("a broken private key loads")
	}
}

// Loaded signs with whatever its loader gives, and refuses when it fails
// or gives keys that cannot sign; the token secret parses as generated.
func TestLoadedAndTokenSecret(t *testing.T) {
	k := testKeys(t)
	ok := Loaded(func(context.Context) (Keys, error) { return k, nil })
	if _, err := ok.Grant("https://d.example", Scope{"vod", "a"}, "master.m3u8", time.Now().Add(time.Minute)); err != nil {
		t.Error(err)
	}
	bad := Loaded(func(context.Context) (Keys, error) { return Keys{}, nil })
	if _, err := bad.Grant("https://d.example", Scope{"vod", "a"}, "master.m3u8", time.Now().Add(time.Minute)); err == nil {
		t.Error("empty keys sign")
	}
	failing := Loaded(func(context.Context) (Keys, error) { return Keys{}, errors.New("no secret") })
	if _, err := failing.Grant("https://d.example", Scope{"vod", "a"}, "master.m3u8", time.Now().Add(time.Minute)); err == nil {
		t.Error("a failed load signs")
	}
	kid, key, err := ParseTokenSecret(`{"kid":"k1","key":"` + strings.Repeat("x", 64) + `"}`)
	if err != nil || kid != "k1" || len(key) != 64 {
		t.Errorf("%q %q %v", kid, key, err)
	}
	for _, v := range []string{``, `{}`, `{"kid":"k 1","key":"` + strings.Repeat("x", 64) + `"}`, `{"kid":"k1","key":"short"}`} {
		if _, _, err := ParseTokenSecret(v); err == nil {
			t.Errorf("%q parses", v)
		}
	}
}

// A canned policy (Expires, as AWS SDK signers make by default) signs one
// exact URL: CloudFront accepts it, so the edge does too.
func TestCannedPolicy(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	s, v := newPair(t, now)
	canned := func(u string, exp int64) string {
		doc := `{"Statement":[{"Resource":"` + u + `","Condition":{"DateLessThan":{"AWS:EpochTime":` + strconv.FormatInt(exp, 10) + `}}}]}`
		raw, err := rsa.SignPKCS1v15(rand.Reader, s.keys.Private, cryptoSHA1, sha1Sum([]byte(doc)))
		if err != nil {
			t.Fatal(err)
		}
		return cfEncode(raw)
	}
	u := "https://d111.cloudfront.net/vod/a/poster-1.jpg"
	sig := canned(u, now.Unix()+60)
	q := "?Expires=" + strconv.FormatInt(now.Unix()+60, 10) + "&Signature=" + sig + "&Key-Pair-Id=K2JCJMDEHXQW5F"
	for _, tc := range []struct {
		name, url string
		cookies   []*http.Cookie
		want      error
	}{
		{"url", u + q, nil, nil},
		{"cookies", u, []*http.Cookie{{Name: CookieExpires, Value: strconv.FormatInt(now.Unix()+60, 10)}, {Name: CookieSignature, Value: sig}, {Name: CookieKeyPairID, Value: "K2JCJMDEHXQW5F"}}, nil},
		{"other object", "https://d111.cloudfront.net/vod/a/master.m3u8" + q, nil, ErrInvalid},
		{"later expiry", u + strings.Replace(q, "1800000060", "1800000061", 1), nil, ErrInvalid},
		{"expired", u + "?Expires=1799999999&Signature=" + canned(u, 1799999999) + "&Key-Pair-Id=K2JCJMDEHXQW5F", nil, ErrExpired},
		{"both forms", u + q + "&Policy=abc", nil, ErrInvalid},
		{"url with a query", u + "?w=1&h=2&" + strings.TrimPrefix(strings.Replace(q, sig, canned(u+"?w=1&h=2", now.Unix()+60), 1), "?"), nil, nil},
		{"bad expiry", u + "?Expires=soon&Signature=" + sig + "&Key-Pair-Id=K2JCJMDEHXQW5F", nil, ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := v.Check(get(t, tc.url, tc.cookies)); !errors.Is(err, tc.want) {
				t.Errorf("Check: %v, want %v", err, tc.want)
			}
		})
	}
}
