package hls

import (
	"bytes"
	"encoding"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Playlist types (EXT-X-PLAYLIST-TYPE). A live sliding-window playlist has
// none.
const (
	TypeVOD   = "VOD"
	TypeEvent = "EVENT"
)

// Limits the parser applies so a hostile playlist cannot make a caller
// compute with absurd numbers.
const (
	maxSegmentDuration = 1e6 // seconds
	maxTargetDuration  = 1e6 // seconds
	maxVersion         = 100
)

// pdtLayout writes EXT-X-PROGRAM-DATE-TIME with milliseconds, the precision
// players use.
const pdtLayout = "2006-01-02T15:04:05.000Z07:00"

// Map is an EXT-X-MAP: the initialization section (fMP4 init segment) of
// the segments that follow it.
type Map struct {
	URI string
}

// Segment is one media segment and the tags that precede its URI.
type Segment struct {
	URI      string
	Duration time.Duration // EXTINF, written in seconds with millisecond precision
	Title    string        // EXTINF title, usually empty
	// Discontinuity marks a change of encoding or timeline before this
	// segment (EXT-X-DISCONTINUITY).
	Discontinuity bool
	// ProgramDateTime is the wall-clock time of the segment's first sample;
	// zero when absent.
	ProgramDateTime time.Time
	// Map, when set, starts a new initialization section at this segment;
	// it applies to the following segments too until the next Map.
	Map *Map
	// Parts are the segment's partial segments (EXT-X-PART, low-latency
	// playlists only), written before its URI.
	Parts []Part
}

// MediaPlaylist is a list of segments of one rendition: a VOD playlist
// (Type VOD, EndList), an event playlist, or a sliding live window (no
// Type, MediaSequence advancing).
type MediaPlaylist struct {
	// Version is EXT-X-VERSION. Encode writes at least the version the
	// playlist's features need (3 for decimal durations, 6 for EXT-X-MAP).
	Version int
	// TargetDuration is EXT-X-TARGETDURATION in seconds. Encode raises it
	// to the longest segment rounded to the nearest second if needed.
	TargetDuration int
	// MediaSequence is the sequence number of the first segment listed.
	MediaSequence uint64
	// DiscontinuitySequence counts discontinuities dropped from the front
	// of a sliding window.
	DiscontinuitySequence uint64
	Type                  string // TypeVOD, TypeEvent or ""
	IndependentSegments   bool
	Segments              []Segment
	EndList               bool
	// LowLatency, when set, makes a Low-Latency HLS playlist (lowlatency.go).
	// The parser leaves it nil.
	LowLatency *LowLatency
}

var (
	_ encoding.TextMarshaler   = (*MediaPlaylist)(nil)
	_ encoding.TextUnmarshaler = (*MediaPlaylist)(nil)
)

// ErrNotMedia is returned by ParseMedia for a master playlist, and
// ErrNotMaster by ParseMaster for a media playlist.
var (
	ErrNotMedia  = errors.New("not a media playlist")
	ErrNotMaster = errors.New("not a master playlist")
)

// Duration is the sum of the segments' durations.
func (p *MediaPlaylist) Duration() time.Duration {
	var d time.Duration
	for _, s := range p.Segments {
		d += s.Duration
	}
	return d
}

// Slide drops the oldest segments so that at most n remain, as a live
// sliding window does, and returns the dropped ones. It keeps the playlist
// valid for players (RFC 8216 §6.2.2): MediaSequence advances by the number
// dropped, DiscontinuitySequence by the discontinuities dropped, the
// EXT-X-MAP in force moves to the new first segment, and a program date
// time is carried forward when the timeline is continuous.
func (p *MediaPlaylist) Slide(n int) []Segment {
	if n < 0 {
		n = 0
	}
	drop := len(p.Segments) - n
	if drop <= 0 {
		return nil
	}
	var (
		m   *Map
		pdt time.Time
	)
	for _, s := range p.Segments[:drop] {
		if s.Discontinuity {
			p.DiscontinuitySequence++
			pdt = time.Time{}
		}
		if s.Map != nil {
			m = s.Map
		}
		if !s.ProgramDateTime.IsZero() {
			pdt = s.ProgramDateTime
		}
		if !pdt.IsZero() {
			pdt = pdt.Add(s.Duration)
		}
	}
	dropped := append([]Segment(nil), p.Segments[:drop]...)
	p.Segments = append(p.Segments[:0], p.Segments[drop:]...)
	p.MediaSequence += uint64(drop)
	if len(p.Segments) > 0 {
		first := &p.Segments[0]
		if first.Map == nil && m != nil {
			first.Map = m
		}
		if first.ProgramDateTime.IsZero() && !first.Discontinuity && !pdt.IsZero() {
			first.ProgramDateTime = pdt
		}
	}
	return dropped
}

// ParseMedia reads a media playlist.
func ParseMedia(data []byte) (*MediaPlaylist, error) {
	p := &MediaPlaylist{}
	if err := p.UnmarshalText(data); err != nil {
		return nil, err
	}
	return p, nil
}

// UnmarshalText parses a media playlist into p, replacing its contents.
func (p *MediaPlaylist) UnmarshalText(data []byte) error {
	*p = MediaPlaylist{}
	lines, err := splitLines(data)
	if err != nil {
		return err
	}
	var (
		cur    Segment
		hasInf bool
	)
	for _, l := range lines {
		if !strings.HasPrefix(l.text, "#") {
			if !hasInf {
				return l.errorf("segment %q has no EXTINF", l.text)
			}
			if err := checkURI(l.text); err != nil {
				return l.errorf("%w", err)
			}
			cur.URI = l.text
			p.Segments = append(p.Segments, cur)
			cur, hasInf = Segment{}, false
			continue
		}
		name, value, _ := strings.Cut(l.text, ":")
		switch name {
		case "#EXT-X-VERSION":
			n, err := parseInt(name, value, maxVersion)
			if err != nil {
				return l.errorf("%w", err)
			}
			p.Version = int(n)
		case "#EXT-X-TARGETDURATION":
			n, err := parseInt(name, value, maxTargetDuration)
			if err != nil {
				return l.errorf("%w", err)
			}
			p.TargetDuration = int(n)
		case "#EXT-X-MEDIA-SEQUENCE":
			n, err := strconv.ParseUint(value, 10, 63)
			if err != nil {
				return l.errorf("%s: bad integer %q", name, value)
			}
			p.MediaSequence = n
		case "#EXT-X-DISCONTINUITY-SEQUENCE":
			n, err := strconv.ParseUint(value, 10, 63)
			if err != nil {
				return l.errorf("%s: bad integer %q", name, value)
			}
			p.DiscontinuitySequence = n
		case "#EXT-X-PLAYLIST-TYPE":
			if value != TypeVOD && value != TypeEvent {
				return l.errorf("%s: unknown type %q", name, value)
			}
			p.Type = value
		case "#EXT-X-INDEPENDENT-SEGMENTS":
			p.IndependentSegments = true
		case "#EXT-X-ENDLIST":
			p.EndList = true
		case "#EXTINF":
			d, title, _ := strings.Cut(value, ",")
			dur, err := parseSeconds(d)
			if err != nil {
				return l.errorf("EXTINF: %w", err)
			}
			cur.Duration, cur.Title, hasInf = dur, title, true
		case "#EXT-X-DISCONTINUITY":
			cur.Discontinuity = true
		case "#EXT-X-PROGRAM-DATE-TIME":
			t, err := parseDate(value)
			if err != nil {
				return l.errorf("%s: bad date %q", name, value)
			}
			cur.ProgramDateTime = t
		case "#EXT-X-MAP":
			attrs, err := parseAttrs(value)
			if err != nil {
				return l.errorf("EXT-X-MAP: %w", err)
			}
			m := &Map{}
			for _, a := range attrs {
				if a.key == "URI" {
					m.URI = a.value
				}
			}
			if err := checkURI(m.URI); err != nil {
				return l.errorf("EXT-X-MAP: %w", err)
			}
			cur.Map = m
		case "#EXT-X-STREAM-INF", "#EXT-X-MEDIA", "#EXT-X-I-FRAME-STREAM-INF":
			return l.errorf("%w: has %s", ErrNotMedia, name)
		}
	}
	if hasInf {
		return errors.New("playlist ends with an EXTINF and no segment URI")
	}
	return nil
}

// dateLayouts are the ISO 8601 forms seen in playlists: RFC 3339, and
// ffmpeg's offset without a colon ("2026-11-26T06:00:00.000+0000").
var dateLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999Z0700"}

func parseDate(s string) (time.Time, error) {
	var err error
	for _, layout := range dateLayouts {
		var t time.Time
		if t, err = time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, err
}

// parseSeconds reads a decimal number of seconds.
func parseSeconds(s string) (time.Duration, error) {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(f) || f < 0 || f > maxSegmentDuration {
		return 0, fmt.Errorf("bad duration %q", s)
	}
	return time.Duration(math.Round(f * float64(time.Second))), nil
}

// formatSeconds writes d in seconds with exactly three decimals, rounding
// to the nearest millisecond without going through floating point.
func formatSeconds(d time.Duration) string {
	ms := (d + time.Millisecond/2) / time.Millisecond
	return fmt.Sprintf("%d.%03d", ms/1000, ms%1000)
}

// roundSeconds is d rounded to the nearest whole second, as the target
// duration rule compares it.
func roundSeconds(d time.Duration) int {
	return int((d + time.Second/2) / time.Second)
}

// Encode writes the playlist. It fails on values that cannot be written
// faithfully (line breaks or quotes in URIs, negative durations).
func (p *MediaPlaylist) Encode() ([]byte, error) {
	var errs []error
	version, target, usesMap := max(p.Version, 3), p.TargetDuration, false
	for i, s := range p.Segments {
		if s.Duration < 0 {
			errs = append(errs, fmt.Errorf("segment %d: negative duration %v", i, s.Duration))
		}
		target = max(target, roundSeconds(s.Duration))
		usesMap = usesMap || s.Map != nil
	}
	if usesMap {
		version = max(version, 6)
	}
	if p.Type != "" && p.Type != TypeVOD && p.Type != TypeEvent {
		errs = append(errs, fmt.Errorf("unknown playlist type %q", p.Type))
	}

	var b bytes.Buffer
	b.WriteString("#EXTM3U\n")
	fmt.Fprintf(&b, "#EXT-X-VERSION:%d\n", version)
	fmt.Fprintf(&b, "#EXT-X-TARGETDURATION:%d\n", target)
	fmt.Fprintf(&b, "#EXT-X-MEDIA-SEQUENCE:%d\n", p.MediaSequence)
	if p.DiscontinuitySequence > 0 {
		fmt.Fprintf(&b, "#EXT-X-DISCONTINUITY-SEQUENCE:%d\n", p.DiscontinuitySequence)
	}
	if p.Type != "" {
		fmt.Fprintf(&b, "#EXT-X-PLAYLIST-TYPE:%s\n", p.Type)
	}
	if p.IndependentSegments {
		b.WriteString("#EXT-X-INDEPENDENT-SEGMENTS\n")
	}
	if p.LowLatency != nil {
		errs = append(errs, p.LowLatency.header(&b)...)
	}
	for i, s := range p.Segments {
		if s.Discontinuity {
			b.WriteString("#EXT-X-DISCONTINUITY\n")
		}
		if s.Map != nil {
			var w attrWriter
			if err := checkURI(s.Map.URI); err != nil {
				errs = append(errs, fmt.Errorf("segment %d map: %w", i, err))
			}
			w.quoted("URI", s.Map.URI)
			errs = append(errs, w.err)
			fmt.Fprintf(&b, "#EXT-X-MAP:%s\n", w.b.String())
		}
		if !s.ProgramDateTime.IsZero() {
			fmt.Fprintf(&b, "#EXT-X-PROGRAM-DATE-TIME:%s\n", s.ProgramDateTime.Format(pdtLayout))
		}
		if strings.ContainsAny(s.Title, "\r\n") {
			errs = append(errs, fmt.Errorf("segment %d: title %q has a line break", i, s.Title))
		}
		if err := checkURI(s.URI); err != nil {
			errs = append(errs, fmt.Errorf("segment %d: %w", i, err))
		}
		errs = append(errs, writeParts(&b, s.Parts)...)
		fmt.Fprintf(&b, "#EXTINF:%s,%s\n%s\n", formatSeconds(s.Duration), s.Title, s.URI)
	}
	if p.LowLatency != nil {
		errs = append(errs, p.LowLatency.trailer(&b)...)
	}
	if p.EndList {
		b.WriteString("#EXT-X-ENDLIST\n")
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("encode media playlist: %w", err)
	}
	return b.Bytes(), nil
}

// MarshalText is Encode.
func (p *MediaPlaylist) MarshalText() ([]byte, error) { return p.Encode() }

// checkURI refuses a URI that would not read back as the same line.
func checkURI(u string) error {
	if u == "" || strings.TrimSpace(u) != u || strings.HasPrefix(u, "#") || strings.ContainsAny(u, "\"\r\n") {
		return fmt.Errorf("URI %q cannot be written in a playlist", u)
	}
	return nil
}

// line is one non-empty playlist line and its 1-based number.
type line struct {
	n    int
	text string
}

func (l line) errorf(format string, args ...any) error {
	return fmt.Errorf("line %d: %w", l.n, fmt.Errorf(format, args...))
}

// splitLines checks the #EXTM3U header and returns the non-blank lines,
// trimmed, tolerating CRLF endings and a UTF-8 byte-order mark.
func splitLines(data []byte) ([]line, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	// A lone CR ends a line too, so no line keeps one inside.
	text := strings.ReplaceAll(strings.ReplaceAll(string(data), "\r\n", "\n"), "\r", "\n")
	var out []line
	for i, raw := range strings.Split(text, "\n") {
		t := strings.TrimSpace(raw)
		if t == "" {
			continue
		}
		if len(out) == 0 && t != "#EXTM3U" {
			return nil, errors.New("missing #EXTM3U header")
		}
		out = append(out, line{n: i + 1, text: t})
	}
	if len(out) == 0 {
		return nil, errors.New("missing #EXTM3U header")
	}
	return out[1:], nil
}
