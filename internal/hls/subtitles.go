package hls

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// SubtitlesGroup is the GROUP-ID of a master's subtitles renditions.
const SubtitlesGroup = "subs"

// Subtitles is one subtitles rendition: a WebVTT media playlist.
type Subtitles struct {
	Language string // BCP 47
	Name     string // what a track picker shows; unique in the group
	URI      string // its media playlist, relative to the master
	Default  bool
}

// SetSubtitles makes subs the master's subtitles renditions, replacing
// any it had, and names their group on every variant (none when subs is
// empty). It is how a master written earlier gets captions added.
func (m *MasterPlaylist) SetSubtitles(subs []Subtitles) {
	m.Media = slices.DeleteFunc(m.Media, func(x Media) bool { return x.Type == MediaSubtitles })
	group := ""
	if len(subs) > 0 {
		group = SubtitlesGroup
	}
	for _, s := range subs {
		m.Media = append(m.Media, Media{Type: MediaSubtitles, GroupID: group, Name: s.Name, Language: s.Language,
			Default: s.Default, Autoselect: true, URI: s.URI})
	}
	for i := range m.Variants {
		m.Variants[i].Subtitles = group
	}
}

// SubtitlesPlaylist is the media playlist of a subtitles rendition held in
// one WebVTT file that covers the whole video (players accept a segment
// of any length in a VOD playlist).
func SubtitlesPlaylist(vttURI string, duration time.Duration) (*MediaPlaylist, error) {
	if duration <= 0 {
		return nil, fmt.Errorf("subtitles playlist: duration %v is not positive", duration)
	}
	return &MediaPlaylist{
		Version: 3, Type: TypeVOD, EndList: true,
		TargetDuration: int(math.Ceil(duration.Seconds())),
		Segments:       []Segment{{URI: vttURI, Duration: duration}},
	}, nil
}
