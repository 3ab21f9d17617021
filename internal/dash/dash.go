// Package dash writes the static MPEG-DASH manifest (MPD) of an on-demand
// CMAF ladder: the same init and media segments as its HLS playlists, one
// encode with two manifests. The MPD is built from the hls.Ladder that
// builds the master playlist and from each rendition's media playlist, so
// the ladder's facts (codecs, bandwidths, sizes, languages) live in one
// place. Subtitles are not listed (HLS only).
package dash

import (
	"encoding/xml"
	"errors"
	"fmt"
	"math"
	"path"
	"strconv"
	"strings"

	"github.com/hlsflow/hlsflow/internal/hls"
)

// Timescale is the MPD's timeline unit (1/s): the media playlists'
// durations are in milliseconds.
const Timescale = 1000

// Build returns the MPD of ladder l (video rungs and audio tracks; the
// MuxedAudio form has no DASH equivalent and is refused), whose
// renditions' media playlists are lists, by rendition name. Every playlist
// must be CMAF (an EXT-X-MAP on its first segment, none after) with
// segment names that differ only by consecutive numbers, as the encoder
// writes them: the MPD's SegmentTemplate names them by $Number$. start is
// the media time (seconds) at which the timeline begins: the segments'
// first decode time, which the MPD's presentationTimeOffset maps to 0.
// URIs are relative to the folder of the master.
func Build(l hls.Ladder, lists map[string]*hls.MediaPlaylist, start float64) ([]byte, error) {
	if l.MuxedAudio {
		return nil, errors.New("dash: muxed audio")
	}
	if len(l.Video) == 0 && l.Audio == nil {
		return nil, errors.New("dash: empty ladder")
	}
	m := mpd{
		XMLNS: "urn:mpeg:dash:schema:mpd:2011", Profiles: "urn:mpeg:dash:profile:isoff-live:2011",
		Type: "static", MinBufferTime: "PT2S",
	}
	var longest float64
	rep := func(r hls.Rendition) (representation, error) {
		p := lists[r.Name]
		if p == nil {
			return representation{}, fmt.Errorf("dash: no playlist for %s", r.Name)
		}
		tmpl, seconds, err := template(r.Name, p, start)
		if err != nil {
			return representation{}, err
		}
		longest = max(longest, seconds)
		return representation{ID: r.Name, Codecs: r.Codecs, Bandwidth: r.Bandwidth, SegmentTemplate: tmpl}, nil
	}
	id := 0
	if len(l.Video) > 0 {
		as := adaptationSet{ID: id, ContentType: "video", MimeType: "video/mp4", SegmentAlignment: true, StartWithSAP: 1}
		for _, v := range l.Video {
			r, err := rep(v)
			if err != nil {
				return nil, err
			}
			r.Width, r.Height, r.FrameRate, r.SAR = v.Width, v.Height, frameRate(v.FrameRate), "1:1"
			as.MaxWidth, as.MaxHeight = max(as.MaxWidth, v.Width), max(as.MaxHeight, v.Height)
			as.Representations = append(as.Representations, r)
		}
		m.Period.AdaptationSets = append(m.Period.AdaptationSets, as)
		id++
	}
	if l.Audio != nil {
		tracks := append([]hls.Rendition{*l.Audio}, l.MoreAudio...)
		if len(l.Video) == 0 {
			tracks = tracks[:1] // further tracks go with video only, as in the master
		}
		for i, a := range tracks {
			r, err := rep(a)
			if err != nil {
				return nil, err
			}
			if a.Channels > 0 {
				r.Channels = &descriptor{Scheme: "urn:mpeg:dash:23003:3:audio_channel_configuration:2011", Value: strconv.Itoa(a.Channels)}
			}
			as := adaptationSet{ID: id, ContentType: "audio", MimeType: "audio/mp4", SegmentAlignment: true, StartWithSAP: 1,
				Lang: l.Tracks[a.Name].Language, Representations: []representation{r}}
			role := "alternate"
			if i == 0 {
				role = "main"
			}
			as.Role = &descriptor{Scheme: "urn:mpeg:dash:role:2011", Value: role}
			m.Period.AdaptationSets = append(m.Period.AdaptationSets, as)
			id++
		}
	}
	m.Duration = duration(longest)
	m.Period.ID, m.Period.Start = "0", "PT0S"
	out, err := xml.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("dash: %w", err)
	}
	return append([]byte(xml.Header), append(out, '\n')...), nil
}

// template is the SegmentTemplate of rendition name's playlist p, and its
// length in seconds.
func template(name string, p *hls.MediaPlaylist, start float64) (*segmentTemplate, float64, error) {
	if len(p.Segments) == 0 {
		return nil, 0, fmt.Errorf("dash: %s has no segments", name)
	}
	if p.Segments[0].Map == nil || !plainName(p.Segments[0].Map.URI) {
		return nil, 0, fmt.Errorf("dash: %s has no init segment (EXT-X-MAP) of its own", name)
	}
	first, width, number, err := numbered(p.Segments[0].URI)
	if err != nil {
		return nil, 0, fmt.Errorf("dash: %s: %w", name, err)
	}
	t := &segmentTemplate{
		Timescale: Timescale, StartNumber: number,
		PresentationTimeOffset: int64(math.Round(start * Timescale)),
		Initialization:         path.Join(name, p.Segments[0].Map.URI),
		Media:                  path.Join(name, first),
	}
	var cum float64
	at := func(s float64) int64 { return int64(math.Round((start + s) * Timescale)) }
	for i, s := range p.Segments {
		if i > 0 && s.Map != nil {
			return nil, 0, fmt.Errorf("dash: %s changes its init segment at segment %d", name, i)
		}
		if s.Discontinuity {
			return nil, 0, fmt.Errorf("dash: %s has a discontinuity at segment %d", name, i)
		}
		if want := fmt.Sprintf(strings.Replace(first, "$Number%0"+strconv.Itoa(width)+"d$", "%0"+strconv.Itoa(width)+"d", 1), number+i); s.URI != want {
			return nil, 0, fmt.Errorf("dash: %s lists %q where %q belongs", name, s.URI, want)
		}
		from := at(cum)
		cum += s.Duration.Seconds()
		d := at(cum) - from
		if d <= 0 {
			return nil, 0, fmt.Errorf("dash: %s segment %d has no duration", name, i)
		}
		tl := &t.Timeline
		if n := len(tl.S); n > 0 && tl.S[n-1].D == d {
			tl.S[n-1].R++
			continue
		}
		e := segmentRun{D: d}
		if i == 0 {
			e.T = &from
		}
		tl.S = append(tl.S, e)
	}
	return t, cum, nil
}

// numbered turns a segment file name such as seg_rev_00007.m4s into
// seg_rev_$Number%05d$.m4s, with the number's width and value: the last
// run of digits before the extension is the number.
func numbered(uri string) (tmpl string, width, n int, err error) {
	if !plainName(uri) || strings.Contains(uri, "$") {
		return "", 0, 0, fmt.Errorf("segment %q is not a plain file name", uri)
	}
	end := strings.LastIndexAny(strings.TrimSuffix(uri, path.Ext(uri)), "0123456789") + 1
	begin := end
	for begin > 0 && uri[begin-1] >= '0' && uri[begin-1] <= '9' {
		begin--
	}
	if end == 0 || end-begin > 9 {
		return "", 0, 0, fmt.Errorf("segment %q has no number", uri)
	}
	n, _ = strconv.Atoi(uri[begin:end])
	width = end - begin
	return uri[:begin] + "$Number%0" + strconv.Itoa(width) + "d$" + uri[end:], width, n, nil
}

// plainName says whether uri names a file in the playlist's own folder.
func plainName(uri string) bool {
	return uri != "" && uri != "." && uri != ".." && !strings.ContainsAny(uri, `/\?#:%`)
}

// frameRate is a DASH FrameRateType: an integer, or a ratio (30000/1001,
// 179/6) when the rate is not a whole number.
func frameRate(f float64) string {
	if f <= 0 {
		return ""
	}
	for _, d := range []int64{1, 1001, 2, 3, 4, 5, 6, 8, 10, 12, 25, 100, 1000} {
		if n := math.Round(f * float64(d)); math.Abs(n/float64(d)-f) < 1e-4 {
			if d == 1 {
				return strconv.FormatInt(int64(n), 10)
			}
			return strconv.FormatInt(int64(n), 10) + "/" + strconv.FormatInt(d, 10)
		}
	}
	return strconv.FormatInt(int64(math.Round(f*1000)), 10) + "/1000"
}

// duration is an xs:duration of seconds, to the millisecond.
func duration(s float64) string {
	return "PT" + strconv.FormatFloat(math.Round(s*1000)/1000, 'f', -1, 64) + "S"
}

// The MPD's elements, as much of ISO/IEC 23009-1 as a static CMAF ladder
// needs.
type mpd struct {
	XMLName       xml.Name `xml:"MPD"`
	XMLNS         string   `xml:"xmlns,attr"`
	Profiles      string   `xml:"profiles,attr"`
	Type          string   `xml:"type,attr"`
	Duration      string   `xml:"mediaPresentationDuration,attr"`
	MinBufferTime string   `xml:"minBufferTime,attr"`
	Period        period   `xml:"Period"`
}

type period struct {
	ID             string          `xml:"id,attr"`
	Start          string          `xml:"start,attr"`
	AdaptationSets []adaptationSet `xml:"AdaptationSet"`
}

type adaptationSet struct {
	ID               int              `xml:"id,attr"`
	ContentType      string           `xml:"contentType,attr"`
	MimeType         string           `xml:"mimeType,attr"`
	Lang             string           `xml:"lang,attr,omitempty"`
	SegmentAlignment bool             `xml:"segmentAlignment,attr"`
	StartWithSAP     int              `xml:"startWithSAP,attr"`
	MaxWidth         int              `xml:"maxWidth,attr,omitempty"`
	MaxHeight        int              `xml:"maxHeight,attr,omitempty"`
	Role             *descriptor      `xml:"Role"`
	Representations  []representation `xml:"Representation"`
}

type descriptor struct {
	Scheme string `xml:"schemeIdUri,attr"`
	Value  string `xml:"value,attr"`
}

type representation struct {
	ID              string           `xml:"id,attr"`
	Codecs          string           `xml:"codecs,attr,omitempty"`
	Bandwidth       int64            `xml:"bandwidth,attr"`
	Width           int              `xml:"width,attr,omitempty"`
	Height          int              `xml:"height,attr,omitempty"`
	FrameRate       string           `xml:"frameRate,attr,omitempty"`
	SAR             string           `xml:"sar,attr,omitempty"`
	Channels        *descriptor      `xml:"AudioChannelConfiguration"`
	SegmentTemplate *segmentTemplate `xml:"SegmentTemplate"`
}

type segmentTemplate struct {
	Timescale              int64    `xml:"timescale,attr"`
	PresentationTimeOffset int64    `xml:"presentationTimeOffset,attr,omitempty"`
	StartNumber            int      `xml:"startNumber,attr"`
	Initialization         string   `xml:"initialization,attr"`
	Media                  string   `xml:"media,attr"`
	Timeline               timeline `xml:"SegmentTimeline"`
}

type timeline struct {
	S []segmentRun `xml:"S"`
}

// segmentRun is an S element: R+1 segments of D each, from T.
type segmentRun struct {
	T *int64 `xml:"t,attr"`
	D int64  `xml:"d,attr"`
	R int    `xml:"r,attr,omitempty"`
}
