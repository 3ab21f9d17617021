package whip

import (
	"bytes"
	"io"
	"net/http"
	"net/netip"
	"testing"
)

func TestParseViewerAddress(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string // "" = refused
	}{
		{"198.51.100.10:46532", "198.51.100.10"},
		{"2001:db8::1:46532", "2001:db8::1"},
		{"[2001:db8::1]:443", "2001:db8::1"},
		{"::ffff:198.51.100.10:80", "198.51.100.10"},
		{"198.51.100.10", ""},       // no port
		{"198.51.100.10:", ""},      // empty port
		{"198.51.100.10:99999", ""}, // port out of range
		{"198.51.100.10:0", ""},
		{"198.51.100.10:+80", ""},
		{"not-an-ip:80", ""},
		{"fe80::1%eth0:80", ""}, // a zone
		{"0.0.0.0:80", ""},
		{":80", ""},
		{"", ""},
		{"198.51.100.10:80, 203.0.113.1:80", ""}, // a list
		{string(bytes.Repeat([]byte("1"), 100)) + ":80", ""},
	} {
		a, ok := parseViewerAddress(tc.in)
		got := ""
		if ok {
			got = a.String()
		}
		if got != tc.want {
			t.Errorf("parseViewerAddress(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

const testFrontSecret = "0123456789abcdef-front"

// postVia sends an offer for stream with extra headers, as CloudFront (or
// someone pretending to be it) would, and returns the status.
func postVia(t *testing.T, f *fixture, stream string, offer []byte, h map[string][]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, f.endpoint(stream), bytes.NewReader(offer))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/sdp")
	req.Header.Set("Authorization", "Bearer "+stream+".good")
	for k, vs := range h {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func viaFront(viewer string) map[string][]string {
	return map[string][]string{FrontSecretHeader: {testFrontSecret}, ViewerAddressHeader: {viewer}}
}

// TestFrontViewerAddress: behind the front, each viewer has its own cap;
// a forged viewer address (no secret, a wrong one) is ignored and the
// TCP peer counted; a front-proven request with a malformed address is
// refused before any session.
func TestFrontViewerAddress(t *testing.T) {
	f := start(t, func(s *Server) { s.MaxSessionsPerAddr, s.FrontSecret = 1, testFrontSecret })
	offer := realOffer(t) // its publisher never connects: the session holds its slot until ConnectTimeout
	steps := []struct {
		name, stream string
		h            map[string][]string
		want         int
	}{
		{"first viewer", "a", viaFront("198.51.100.1:1000"), http.StatusCreated},
		{"second viewer, same front", "b", viaFront("198.51.100.2:1000"), http.StatusCreated},
		{"first viewer again", "c", viaFront("198.51.100.1:2000"), http.StatusTooManyRequests},
		{"ipv6 viewer", "d", viaFront("2001:db8::1:5000"), http.StatusCreated},
		{"same ipv6 /64", "e", viaFront("2001:db8::2:5000"), http.StatusTooManyRequests},
		// Forgeries: counted as the TCP peer (127.0.0.1), which has no
		// session yet, so the first gets in and the second does not.
		{"forged, no secret", "f", map[string][]string{ViewerAddressHeader: {"203.0.113.1:1"}}, http.StatusCreated},
		{"forged, wrong secret", "g", map[string][]string{FrontSecretHeader: {testFrontSecret + "x"}, ViewerAddressHeader: {"203.0.113.2:1"}}, http.StatusTooManyRequests},
		{"forged, secret twice", "h", map[string][]string{FrontSecretHeader: {"x", testFrontSecret}, ViewerAddressHeader: {"203.0.113.3:1"}}, http.StatusTooManyRequests},
		{"malformed", "i", viaFront("203.0.113.4"), http.StatusBadRequest},
		{"two addresses", "j", map[string][]string{FrontSecretHeader: {testFrontSecret}, ViewerAddressHeader: {"203.0.113.5:1", "203.0.113.6:1"}}, http.StatusBadRequest},
		{"missing", "k", map[string][]string{FrontSecretHeader: {testFrontSecret}}, http.StatusBadRequest},
	}
	for _, st := range steps {
		code, body := postVia(t, f, st.stream, offer, st.h)
		if code != st.want {
			t.Errorf("%s: status %d (%s), want %d", st.name, code, body, st.want)
		}
	}
	if n, want := len(f.hub.claimed()), 4; n != want {
		t.Errorf("%d feeds claimed, want %d (the 201s)", n, want)
	}
	if n := f.s.Sessions(); n != 4 {
		t.Errorf("%d sessions, want 4", n)
	}
	f.s.mu.Lock()
	_, peer := f.s.perAddr[netip.MustParseAddr("127.0.0.1")]
	_, forged := f.s.perAddr[netip.MustParseAddr("203.0.113.1")]
	f.s.mu.Unlock()
	if !peer || forged {
		t.Errorf("counted by the TCP peer %v, by the forged address %v; want the peer only", peer, forged)
	}
}

// TestFrontSecretOff: without a FrontSecret no header is believed, even
// one that carries a secret.
func TestFrontSecretOff(t *testing.T) {
	f := start(t, func(s *Server) { s.MaxSessionsPerAddr = 1 })
	offer := realOffer(t)
	if code, body := postVia(t, f, "a", offer, viaFront("198.51.100.1:1")); code != http.StatusCreated {
		t.Fatalf("first: %d %s", code, body)
	}
	if code, _ := postVia(t, f, "b", offer, viaFront("198.51.100.2:1")); code != http.StatusTooManyRequests {
		t.Errorf("second, another viewer named: %d, want 429 (the header is not believed)", code)
	}
}

func TestFrontSecretTooShort(t *testing.T) {
	s := &Server{Verify: verify, Hub: &hub{}, UDPAddr: "127.0.0.1:0", FrontSecret: "short"}
	if err := s.Start(); err == nil {
		_ = s.Close()
		t.Fatal("Start took a 5-character front secret")
	}
}
