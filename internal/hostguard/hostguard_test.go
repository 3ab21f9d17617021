package hostguard

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"testing"
)

func TestAllows(t *testing.T) {
	g := New(Config{Hosts: []string{"192.0.2.7:8080", "http://studio.example:4566/", "[2001:db8::5]:1"}})
	cases := []struct {
		host string
		want bool
	}{
		{"127.0.0.1:8080", true},
		{"127.9.9.9", true},
		{"[::1]:4566", true},
		{"localhost:8080", true},
		{"LOCALHOST.:8080", true},
		{"app.localhost:8080", true},
		{"192.0.2.7:9999", true}, // a configured address, any port
		{"studio.example", true},
		{"Studio.Example:4566", true},
		{"[2001:db8::5]:8080", true},
		{"[::ffff:127.0.0.1]:80", true},

		{"", false},
		{"evil.example:8080", false},
		{"localhost.evil.example", false},
		{"127.0.0.1.evil.example", false},
		{"192.0.2.8:8080", false},
		{"studio.example.evil.example", false},
		{"http://127.0.0.1:8080", false},
	}
	for _, c := range cases {
		if got := g.Allows(c.host); got != c.want {
			t.Errorf("Allows(%q) = %v, want %v", c.host, got, c.want)
		}
	}
}

// TestInterfaces: under Interfaces this machine's own addresses and name
// pass; without it only loopback does.
func TestInterfaces(t *testing.T) {
	var own []string
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && !ipn.IP.IsLoopback() {
			own = append(own, net.JoinHostPort(ipn.IP.String(), "8080"))
		}
	}
	name, _ := os.Hostname()
	if name != "" {
		own = append(own, name+":8080")
	}
	if len(own) == 0 {
		t.Skip("no non-loopback address or host name on this machine")
	}
	lan, local := New(Config{Interfaces: true}), New(Config{})
	for _, h := range own {
		if !lan.Allows(h) {
			t.Errorf("with interfaces: %q refused", h)
		}
		if local.Allows(h) {
			t.Errorf("without interfaces: %q allowed", h)
		}
	}
	if lan.Allows("evil.example:8080") || lan.Allows("198.51.100.1:8080") {
		t.Error("with interfaces: a foreign host is allowed")
	}
}

func TestHandlerRefuses(t *testing.T) {
	ran := false
	srv := httptest.NewServer(New(Config{}).Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ran = true
		io.WriteString(w, "secret")
	})))
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/videos", nil)
	req.Host = "rebind.evil.example:8080"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusMisdirectedRequest || string(b) != "misdirected request\n" || ran {
		t.Errorf("foreign host: %d %q, handler ran: %v", resp.StatusCode, b, ran)
	}
	resp, err = http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !ran {
		t.Errorf("own host: %d, handler ran: %v", resp.StatusCode, ran)
	}
}

func TestNames(t *testing.T) {
	g := New(Config{Hosts: []string{"0.0.0.0:8080", "Studio.Example.:80", "http://192.0.2.7:4566/x", "[fe80::1]:80"}})
	got := g.Names()
	for _, want := range []string{"localhost", "127.0.0.1", "::1", "studio.example", "192.0.2.7"} {
		if !slices.Contains(got, want) {
			t.Errorf("names %q lack %s", got, want)
		}
	}
	for _, bad := range []string{"0.0.0.0", "fe80::1"} {
		if slices.Contains(got, bad) {
			t.Errorf("names %q hold %s, which no browser URL can use", got, bad)
		}
	}
	for _, n := range got {
		if !g.Allows(n) {
			t.Errorf("Names gives %s, which Allows refuses", n)
		}
	}
}
