package hls

import "strconv"

// AudioGroup is the GROUP-ID of a ladder's separate audio rendition.
const AudioGroup = "aac"

// Rendition is one rung of a ladder as a master playlist names it.
type Rendition struct {
	Name                        string // the folder of its media playlist, next to the master
	Width, Height               int    // 0 for audio
	FrameRate                   float64
	Codecs                      string // RFC 6381, of what its segments hold
	Bandwidth, AverageBandwidth int64  // peak and (optional) average bits per second
	Channels                    int    // audio only
}

// TrackInfo is what a track picker shows of an audio rendition.
type TrackInfo struct {
	Language string // BCP 47, when known
	Label    string // its NAME; the rendition's Name when empty
}

// Ladder is what a master playlist lists, on demand or live. Audio, if
// any, has a playlist of its own offered with every video variant as an
// EXT-X-MEDIA alternative, or with MuxedAudio is in every video
// rendition's segments; without video it is the one variant either way.
type Ladder struct {
	Video      []Rendition // highest first: players start with the first listed
	Audio      *Rendition
	MuxedAudio bool
	Playlist   string // file name of every rendition's media playlist
	// MoreAudio are further audio tracks (commentary, dubs), offered
	// beside Audio (the default) in the audio group; with separate audio
	// only.
	MoreAudio []Rendition
	// Tracks holds, by rendition name, the language and label of audio
	// renditions that have them.
	Tracks map[string]TrackInfo
	// Subtitles are offered with every variant (see SetSubtitles).
	Subtitles []Subtitles
}

// Renditions returns every rendition with a playlist of its own: the
// variants, each video rendition with the audio's codecs and bandwidth
// added, then a separate audio rendition; or the audio alone.
func (l Ladder) Renditions() []Rendition {
	a := l.Audio
	if len(l.Video) == 0 {
		if a == nil {
			return nil
		}
		return []Rendition{*a}
	}
	var rs []Rendition
	more := l.moreAudio()
	for _, v := range l.Video {
		if a != nil {
			// A variant's BANDWIDTH covers the most demanding track.
			peak, avg := a.Bandwidth, a.AverageBandwidth
			for _, m := range more {
				peak, avg = max(peak, m.Bandwidth), max(avg, m.AverageBandwidth)
			}
			v.Codecs += "," + a.Codecs
			v.Bandwidth += peak
			if v.AverageBandwidth > 0 { // an unknown average stays unknown
				v.AverageBandwidth += avg
			}
		}
		rs = append(rs, v)
	}
	if a != nil && !l.MuxedAudio {
		rs = append(rs, *a)
		rs = append(rs, more...)
	}
	return rs
}

// moreAudio is MoreAudio where it applies: beside a separate audio
// rendition of a ladder with video.
func (l Ladder) moreAudio() []Rendition {
	if l.Audio == nil || l.MuxedAudio || len(l.Video) == 0 {
		return nil
	}
	return l.MoreAudio
}

// Master builds the master playlist of the ladder.
func (l Ladder) Master() *MasterPlaylist {
	m := &MasterPlaylist{Version: masterVersion, IndependentSegments: true}
	group := ""
	if a := l.Audio; a != nil && len(l.Video) > 0 && !l.MuxedAudio {
		group = AudioGroup
		for i, r := range append([]Rendition{*a}, l.moreAudio()...) {
			t := l.Tracks[r.Name]
			name := t.Label
			if name == "" {
				name = r.Name
			}
			m.Media = append(m.Media, Media{Type: MediaAudio, GroupID: group, Name: name, Language: t.Language,
				Default: i == 0, Autoselect: true, Channels: strconv.Itoa(r.Channels), URI: r.Name + "/" + l.Playlist})
		}
	}
	vs := l.Renditions()
	if len(l.Video) > 0 {
		vs = vs[:len(l.Video)] // not the separate audio
	}
	for _, v := range vs {
		m.Variants = append(m.Variants, Variant{URI: v.Name + "/" + l.Playlist, Bandwidth: v.Bandwidth,
			AverageBandwidth: v.AverageBandwidth, Width: v.Width, Height: v.Height, Codecs: v.Codecs, FrameRate: v.FrameRate, Audio: group})
	}
	m.SetSubtitles(l.Subtitles)
	return m
}
