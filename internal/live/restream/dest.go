// Package restream forwards a live stream's incoming feed, without
// re-encoding, to the RTMP/RTMPS destinations its operator set (YouTube,
// Twitch…): one `ffmpeg -c copy` per destination fed from the stream's
// MPEG-TS through a bounded queue, so a slow or dead destination drops its
// own data and never holds up the stream or the others. A destination that
// refuses, hangs or drops is retried with exponential backoff. Each
// connection goes to an address checked just before it (pin.go). It also
// keeps the destinations and their states in the media bucket, where the
// API sets and shows them.
package restream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"

	"github.com/hlsflow/hlsflow/internal/catalog"
	"github.com/hlsflow/hlsflow/internal/netpolicy"
	"github.com/hlsflow/hlsflow/internal/store"
)

// Bounds on what the operator may set.
const (
	MaxDestinations = 5
	maxURL          = 512
	maxKey          = 512
)

// Destination is where a stream is forwarded: an rtmp:// or rtmps:// URL
// (e.g. rtmp://a.rtmp.youtube.com/live2) and the stream key appended to
// it. The key is a secret: it is stored, never shown back.
type Destination struct {
	URL string `json:"url"`
	Key string `json:"key"`
}

// Target is the URL ffmpeg publishes to.
func (d Destination) Target() string { return strings.TrimSuffix(d.URL, "/") + "/" + d.Key }

// MaskKey shows enough of a key to tell two apart, never the key itself.
func MaskKey(key string) string {
	if len(key) < 12 {
		return "****"
	}
	return "****" + key[len(key)-4:]
}

// Policy says which addresses a destination may resolve to. Private,
// loopback, link-local and other non-public addresses are refused (a
// destination must not reach the ingest's own network: SSRF) unless they
// fall in Allow.
type Policy struct {
	Allow []netip.Prefix
	// Lookup resolves a host name; nil is net.DefaultResolver's.
	Lookup netpolicy.Lookup
}

// ErrInvalid wraps every refusal of Check and Validate.
var ErrInvalid = errors.New("invalid restream destination")

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// Validate checks a destination's form: scheme, host, port, lengths,
// characters. It does not resolve the host (Check does).
func Validate(d Destination) error {
	if d.URL == "" || len(d.URL) > maxURL {
		return invalid("url is required, at most %d characters", maxURL)
	}
	if d.Key == "" || len(d.Key) > maxKey {
		return invalid("key is required, at most %d characters", maxKey)
	}
	for _, s := range []string{d.URL, d.Key} {
		for _, c := range s {
			if c <= ' ' || c >= 0x7f {
				return invalid("url and key may hold only printable ASCII without spaces")
			}
		}
	}
	u, err := url.Parse(d.URL)
	if err != nil {
		return invalid("url: %v", err)
	}
	if u.Scheme != "rtmp" && u.Scheme != "rtmps" {
		return invalid("url scheme must be rtmp or rtmps, not %q", u.Scheme)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return invalid("url may carry no user, query or fragment (the key goes in key)")
	}
	if u.Hostname() == "" {
		return invalid("url has no host")
	}
	if p := u.Port(); p != "" {
		if n, err := net.LookupPort("tcp", p); err != nil || n < 1 || n > 65535 {
			return invalid("url port %q", p)
		}
	}
	return nil
}

// Check validates d and resolves its host: every address must be public or
// allowed.
func (p Policy) Check(ctx context.Context, d Destination) error {
	_, err := p.Resolve(ctx, d)
	return err
}

// Resolve is Check returning the checked addresses (a literal host's own).
// The ingest resolves before each connection, since a name may resolve
// elsewhere by then, and has ffmpeg connect to one of these addresses,
// never to the name resolved again (pin.go).
func (p Policy) Resolve(ctx context.Context, d Destination) ([]netip.Addr, error) {
	if err := Validate(d); err != nil {
		return nil, err
	}
	u, _ := url.Parse(d.URL)
	addrs, err := netpolicy.Resolve(ctx, u.Hostname(), p.Lookup, p.Allow)
	if err != nil {
		return nil, invalid("%v", err)
	}
	return addrs, nil
}

// Load reads stream name's destinations; none set is an empty list.
func Load(ctx context.Context, st *store.Store, bucket, name string) ([]Destination, error) {
	b, err := st.GetBytes(ctx, bucket, catalog.RestreamKey(name))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read restream destinations of %s: %w", name, err)
	}
	var rec struct {
		Destinations []Destination `json:"destinations"`
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, fmt.Errorf("read restream destinations of %s: %w", name, err)
	}
	return rec.Destinations, nil
}

// Save replaces stream name's destinations.
func Save(ctx context.Context, st *store.Store, bucket, name string, ds []Destination) error {
	b, err := json.Marshal(map[string]any{"destinations": ds})
	if err != nil {
		return err
	}
	return st.PutBytes(ctx, bucket, catalog.RestreamKey(name), b,
		store.Object{ContentType: "application/json", CacheControl: store.CacheNoCache})
}

// LoadStates reads the states the ingest last reported for stream name;
// none is an empty list.
func LoadStates(ctx context.Context, st *store.Store, bucket, name string) ([]Status, error) {
	b, err := st.GetBytes(ctx, bucket, catalog.RestreamStateKey(name))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Status
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, err
	}
	return out, nil
}

func saveStates(ctx context.Context, st *store.Store, bucket, name string, ss []Status) error {
	b, err := json.Marshal(ss)
	if err != nil {
		return err
	}
	return st.PutBytes(ctx, bucket, catalog.RestreamStateKey(name), b,
		store.Object{ContentType: "application/json", CacheControl: store.CacheNoCache})
}
