package hls

import (
	"bytes"
	"fmt"
	"strconv"
	"time"
)

// Low-Latency HLS (RFC 8216bis §4.4.4.9, §4.4.5.2, §4.4.3.7-8): a live
// media playlist also lists the partial segments of its newest segments
// and of the segment being made, hints the next part, says the server
// holds blocking reloads, and reports the other renditions' newest parts.

// The query parameters of LL-HLS playlist requests (blocking reload and
// delta updates, RFC 8216bis §6.2.5): what an origin reads, and all a
// CDN must forward and key its cache on.
const (
	QueryMSN  = "_HLS_msn"
	QueryPart = "_HLS_part"
	QuerySkip = "_HLS_skip"
)

// LowLatencyQuery lists them.
var LowLatencyQuery = []string{QueryMSN, QueryPart, QuerySkip}

// Part is an EXT-X-PART: a partial segment.
type Part struct {
	URI         string
	Duration    time.Duration
	Independent bool // it starts with a frame decodable on its own
}

// ServerControl is EXT-X-SERVER-CONTROL.
type ServerControl struct {
	CanBlockReload bool
	// PartHoldBack is how far from the live edge a player in low-latency
	// mode should play (at least twice the part target; three times is
	// recommended).
	PartHoldBack time.Duration
}

// RenditionReport is an EXT-X-RENDITION-REPORT: another rendition's
// newest segment and part, so a player switching to it can ask for the
// right one at once.
type RenditionReport struct {
	URI      string
	LastMSN  uint64
	LastPart int
}

// LowLatency is what a playlist adds in low-latency mode.
type LowLatency struct {
	PartTarget    time.Duration // EXT-X-PART-INF:PART-TARGET
	ServerControl ServerControl
	// Partial are the parts of the segment being made, after the last
	// complete segment; PreloadHint the URI of the part to come.
	Partial     []Part
	PreloadHint string
	Reports     []RenditionReport
}

// seconds writes a duration in seconds with millisecond precision.
func seconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', 3, 64)
}

func (ll *LowLatency) header(b *bytes.Buffer) []error {
	var errs []error
	sc := ll.ServerControl
	b.WriteString("#EXT-X-SERVER-CONTROL:")
	if sc.CanBlockReload {
		b.WriteString("CAN-BLOCK-RELOAD=YES,")
	}
	fmt.Fprintf(b, "PART-HOLD-BACK=%s\n", seconds(sc.PartHoldBack))
	if ll.PartTarget <= 0 || sc.PartHoldBack < 2*ll.PartTarget {
		errs = append(errs, fmt.Errorf("part target %v and part hold back %v: want a positive target and at least twice it as hold back",
			ll.PartTarget, sc.PartHoldBack))
	}
	fmt.Fprintf(b, "#EXT-X-PART-INF:PART-TARGET=%s\n", seconds(ll.PartTarget))
	return errs
}

func writeParts(b *bytes.Buffer, parts []Part) []error {
	var errs []error
	for _, p := range parts {
		var w attrWriter
		if err := checkURI(p.URI); err != nil {
			errs = append(errs, fmt.Errorf("part: %w", err))
		}
		if p.Duration < 0 {
			errs = append(errs, fmt.Errorf("part %s: negative duration", p.URI))
		}
		w.raw("DURATION", seconds(p.Duration))
		w.quoted("URI", p.URI)
		if p.Independent {
			w.raw("INDEPENDENT", "YES")
		}
		errs = append(errs, w.err)
		fmt.Fprintf(b, "#EXT-X-PART:%s\n", w.b.String())
	}
	return errs
}

func (ll *LowLatency) trailer(b *bytes.Buffer) []error {
	errs := writeParts(b, ll.Partial)
	if ll.PreloadHint != "" {
		var w attrWriter
		if err := checkURI(ll.PreloadHint); err != nil {
			errs = append(errs, fmt.Errorf("preload hint: %w", err))
		}
		w.raw("TYPE", "PART")
		w.quoted("URI", ll.PreloadHint)
		errs = append(errs, w.err)
		fmt.Fprintf(b, "#EXT-X-PRELOAD-HINT:%s\n", w.b.String())
	}
	for _, r := range ll.Reports {
		var w attrWriter
		if err := checkURI(r.URI); err != nil {
			errs = append(errs, fmt.Errorf("rendition report: %w", err))
		}
		w.quoted("URI", r.URI)
		w.raw("LAST-MSN", strconv.FormatUint(r.LastMSN, 10))
		w.raw("LAST-PART", strconv.Itoa(r.LastPart))
		errs = append(errs, w.err)
		fmt.Fprintf(b, "#EXT-X-RENDITION-REPORT:%s\n", w.b.String())
	}
	return errs
}
