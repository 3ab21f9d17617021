package hls

import "strconv"

// AudioGroup is the GROUP-ID of a ladder's separate audio rendition.
const AudioGroup = "aac"

// Rendition is one rung of a ladder as a master playlist names it.
type Rendition struct {
	Name             string // the folder of its media playlist, next to the master
	Width, Height    int    // 0 for audio
	FrameRate        float64
	Codecs           string // RFC 6381, of what its segments hold
	Bandwidth        int64  // peak bits per second
	AverageBandwidth int64  // optional
	Channels         int    // audio only, optional
}

// Ladder is what a master playlist lists: the renditions of one
// presentation, on demand or live, and how audio is carried.
type Ladder struct {
	Video []Rendition // highest first: players start with the first listed
	// Audio is the audio rendition, if any. On its own (MuxedAudio false)
	// it has a playlist of its own, offered with every video variant as an
	// EXT-X-MEDIA alternative; muxed, it is in every video rendition's
	// segments. Without video it is the one variant either way.
	Audio      *Rendition
	MuxedAudio bool
	Playlist   string // file name of every rendition's media playlist
}

// Variants returns the renditions a player chooses between, as the master
// lists them: each video rendition with the audio's codecs and bandwidth
// added, or the audio alone when there is no video.
func (l Ladder) Variants() []Rendition {
	if len(l.Video) == 0 {
		if l.Audio == nil {
			return nil
		}
		return []Rendition{*l.Audio}
	}
	vs := make([]Rendition, 0, len(l.Video))
	for _, v := range l.Video {
		if a := l.Audio; a != nil {
			v.Codecs += "," + a.Codecs
			v.Bandwidth += a.Bandwidth
			if v.AverageBandwidth > 0 { // an unknown average stays unknown
				v.AverageBandwidth += a.AverageBandwidth
			}
		}
		vs = append(vs, v)
	}
	return vs
}

// Renditions returns every rendition that has a media playlist of its
// own: the variants, then a separate audio rendition.
func (l Ladder) Renditions() []Rendition {
	rs := l.Variants()
	if a := l.Audio; a != nil && len(l.Video) > 0 && !l.MuxedAudio {
		rs = append(rs, *a)
	}
	return rs
}

// Master builds the master playlist of the ladder.
func (l Ladder) Master() *MasterPlaylist {
	m := &MasterPlaylist{Version: masterVersion, IndependentSegments: true}
	group := ""
	if a := l.Audio; a != nil && len(l.Video) > 0 && !l.MuxedAudio {
		group = AudioGroup
		channels := ""
		if a.Channels > 0 {
			channels = strconv.Itoa(a.Channels)
		}
		m.Media = append(m.Media, Media{
			Type: MediaAudio, GroupID: group, Name: a.Name, Default: true, Autoselect: true,
			Channels: channels, URI: l.uri(*a),
		})
	}
	for _, v := range l.Variants() {
		m.Variants = append(m.Variants, Variant{
			URI: l.uri(v), Bandwidth: v.Bandwidth, AverageBandwidth: v.AverageBandwidth,
			Width: v.Width, Height: v.Height, Codecs: v.Codecs, FrameRate: v.FrameRate, Audio: group,
		})
	}
	return m
}

func (l Ladder) uri(r Rendition) string { return r.Name + "/" + l.Playlist }
