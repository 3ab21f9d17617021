package hls

import (
	"bytes"
	"encoding"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Media types of EXT-X-MEDIA.
const (
	MediaAudio     = "AUDIO"
	MediaVideo     = "VIDEO"
	MediaSubtitles = "SUBTITLES"
)

const (
	maxBandwidth  = 1 << 53
	maxDimension  = 1 << 16
	maxFrameRate  = 1000
	masterVersion = 3
)

// Media is an EXT-X-MEDIA rendition: an alternative audio (or other)
// playlist that variants name by GroupID.
type Media struct {
	Type       string // MediaAudio, ...
	GroupID    string
	Name       string
	Language   string // optional
	Default    bool
	Autoselect bool
	Channels   string // optional, e.g. "2"
	URI        string // optional: absent when the media is muxed in the variants
}

// Variant is an EXT-X-STREAM-INF: one rung of the ladder.
type Variant struct {
	URI              string
	Bandwidth        int64 // peak bits per second, audio included
	AverageBandwidth int64 // optional, bits per second
	Width, Height    int   // RESOLUTION, optional (0 for audio-only)
	Codecs           string
	FrameRate        float64 // optional, written with 3 decimals
	Audio            string  // GROUP-ID of the EXT-X-MEDIA audio, optional
	Subtitles        string  // GROUP-ID of the EXT-X-MEDIA subtitles, optional
}

// MasterPlaylist lists the variants of one presentation.
type MasterPlaylist struct {
	Version             int // written as at least 3
	IndependentSegments bool
	Media               []Media
	Variants            []Variant
}

var (
	_ encoding.TextMarshaler   = (*MasterPlaylist)(nil)
	_ encoding.TextUnmarshaler = (*MasterPlaylist)(nil)
)

// ParseMaster reads a master playlist.
func ParseMaster(data []byte) (*MasterPlaylist, error) {
	p := &MasterPlaylist{}
	if err := p.UnmarshalText(data); err != nil {
		return nil, err
	}
	return p, nil
}

// IsMaster reports whether data looks like a master playlist (it has a
// variant), without parsing it fully.
func IsMaster(data []byte) bool {
	return bytes.Contains(data, []byte("#EXT-X-STREAM-INF"))
}

// UnmarshalText parses a master playlist into p, replacing its contents.
func (p *MasterPlaylist) UnmarshalText(data []byte) error {
	*p = MasterPlaylist{}
	lines, err := splitLines(data)
	if err != nil {
		return err
	}
	var pending *Variant
	for _, l := range lines {
		if !strings.HasPrefix(l.text, "#") {
			if pending == nil {
				return l.errorf("URI %q has no EXT-X-STREAM-INF", l.text)
			}
			if err := checkURI(l.text); err != nil {
				return l.errorf("%w", err)
			}
			pending.URI = l.text
			p.Variants = append(p.Variants, *pending)
			pending = nil
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
		case "#EXT-X-INDEPENDENT-SEGMENTS":
			p.IndependentSegments = true
		case "#EXT-X-MEDIA":
			m, err := parseMedia(value)
			if err != nil {
				return l.errorf("EXT-X-MEDIA: %w", err)
			}
			p.Media = append(p.Media, m)
		case "#EXT-X-STREAM-INF":
			if pending != nil {
				return l.errorf("EXT-X-STREAM-INF follows another without a URI")
			}
			v, err := parseVariant(value)
			if err != nil {
				return l.errorf("EXT-X-STREAM-INF: %w", err)
			}
			pending = &v
		case "#EXTINF", "#EXT-X-TARGETDURATION", "#EXT-X-MEDIA-SEQUENCE", "#EXT-X-ENDLIST":
			return l.errorf("%w: has %s", ErrNotMaster, name)
		}
	}
	if pending != nil {
		return errors.New("playlist ends with an EXT-X-STREAM-INF and no URI")
	}
	return nil
}

func parseMedia(s string) (Media, error) {
	attrs, err := parseAttrs(s)
	if err != nil {
		return Media{}, err
	}
	var m Media
	for _, a := range attrs {
		switch a.key {
		case "TYPE":
			m.Type = a.value
		case "GROUP-ID":
			m.GroupID = a.value
		case "NAME":
			m.Name = a.value
		case "LANGUAGE":
			m.Language = a.value
		case "DEFAULT":
			m.Default = a.value == "YES"
		case "AUTOSELECT":
			m.Autoselect = a.value == "YES"
		case "CHANNELS":
			m.Channels = a.value
		case "URI":
			m.URI = a.value
		}
	}
	if err := m.check(); err != nil {
		return Media{}, err
	}
	return m, nil
}

func (m *Media) check() error {
	switch {
	case m.Type == "" || strings.ContainsAny(m.Type, "\",\r\n \t"):
		return fmt.Errorf("bad TYPE %q", m.Type)
	case m.GroupID == "":
		return errors.New("no GROUP-ID")
	case m.Name == "":
		return errors.New("no NAME")
	case m.URI != "" && checkURI(m.URI) != nil:
		return checkURI(m.URI)
	}
	return nil
}

func parseVariant(s string) (Variant, error) {
	attrs, err := parseAttrs(s)
	if err != nil {
		return Variant{}, err
	}
	var v Variant
	hasBandwidth := false
	for _, a := range attrs {
		switch a.key {
		case "BANDWIDTH":
			v.Bandwidth, err = parseInt(a.key, a.value, maxBandwidth)
			if err == nil && v.Bandwidth == 0 {
				err = errors.New("BANDWIDTH is zero")
			}
			hasBandwidth = true
		case "AVERAGE-BANDWIDTH":
			v.AverageBandwidth, err = parseInt(a.key, a.value, maxBandwidth)
		case "RESOLUTION":
			v.Width, v.Height, err = parseResolution(a.value)
		case "CODECS":
			v.Codecs = a.value
		case "FRAME-RATE":
			v.FrameRate, err = strconv.ParseFloat(a.value, 64)
			if err != nil || math.IsNaN(v.FrameRate) || v.FrameRate < 0 || v.FrameRate > maxFrameRate {
				err = fmt.Errorf("FRAME-RATE: bad number %q", a.value)
			}
		case "AUDIO":
			v.Audio = a.value
		case "SUBTITLES":
			v.Subtitles = a.value
		}
		if err != nil {
			return Variant{}, err
		}
	}
	if !hasBandwidth {
		return Variant{}, errors.New("no BANDWIDTH")
	}
	return v, nil
}

func parseResolution(s string) (w, h int, err error) {
	ws, hs, ok := strings.Cut(s, "x")
	if !ok {
		return 0, 0, fmt.Errorf("RESOLUTION: bad value %q", s)
	}
	wn, err1 := parseInt("RESOLUTION", ws, maxDimension)
	hn, err2 := parseInt("RESOLUTION", hs, maxDimension)
	if err1 != nil || err2 != nil || wn == 0 || hn == 0 {
		return 0, 0, fmt.Errorf("RESOLUTION: bad value %q", s)
	}
	return int(wn), int(hn), nil
}

// Encode writes the playlist: alternative media first, then the variants
// in the order given (players start with the first one listed).
func (p *MasterPlaylist) Encode() ([]byte, error) {
	var errs []error
	var b bytes.Buffer
	b.WriteString("#EXTM3U\n")
	fmt.Fprintf(&b, "#EXT-X-VERSION:%d\n", max(p.Version, masterVersion))
	if p.IndependentSegments {
		b.WriteString("#EXT-X-INDEPENDENT-SEGMENTS\n")
	}
	for i, m := range p.Media {
		if err := m.check(); err != nil {
			errs = append(errs, fmt.Errorf("media %d: %w", i, err))
		}
		var w attrWriter
		w.enum("TYPE", m.Type)
		w.quoted("GROUP-ID", m.GroupID)
		w.quoted("NAME", m.Name)
		if m.Language != "" {
			w.quoted("LANGUAGE", m.Language)
		}
		w.yesNo("DEFAULT", m.Default)
		w.yesNo("AUTOSELECT", m.Autoselect)
		if m.Channels != "" {
			w.quoted("CHANNELS", m.Channels)
		}
		if m.URI != "" {
			w.quoted("URI", m.URI)
		}
		errs = append(errs, w.err)
		fmt.Fprintf(&b, "#EXT-X-MEDIA:%s\n", w.b.String())
	}
	for i, v := range p.Variants {
		var w attrWriter
		if v.Bandwidth <= 0 || v.AverageBandwidth < 0 || !(v.FrameRate >= 0) || v.Width < 0 || v.Height < 0 {
			errs = append(errs, fmt.Errorf("variant %d: bandwidth, size and frame rate must be positive", i))
		}
		w.raw("BANDWIDTH", strconv.FormatInt(v.Bandwidth, 10))
		if v.AverageBandwidth > 0 {
			w.raw("AVERAGE-BANDWIDTH", strconv.FormatInt(v.AverageBandwidth, 10))
		}
		if v.Width > 0 && v.Height > 0 {
			w.raw("RESOLUTION", fmt.Sprintf("%dx%d", v.Width, v.Height))
		}
		if v.Codecs != "" {
			w.quoted("CODECS", v.Codecs)
		}
		if fr := strconv.FormatFloat(v.FrameRate, 'f', 3, 64); fr != "0.000" {
			w.raw("FRAME-RATE", fr)
		}
		if v.Audio != "" {
			w.quoted("AUDIO", v.Audio)
		}
		if v.Subtitles != "" {
			w.quoted("SUBTITLES", v.Subtitles)
		}
		if err := checkURI(v.URI); err != nil {
			errs = append(errs, fmt.Errorf("variant %d: %w", i, err))
		}
		errs = append(errs, w.err)
		fmt.Fprintf(&b, "#EXT-X-STREAM-INF:%s\n%s\n", w.b.String(), v.URI)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("encode master playlist: %w", err)
	}
	return b.Bytes(), nil
}

// MarshalText is Encode.
func (p *MasterPlaylist) MarshalText() ([]byte, error) { return p.Encode() }
