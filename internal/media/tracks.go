package media

import (
	"strconv"
	"strings"
)

// AudioTrackName is the rendition name of audio track n (1 is the first,
// AudioName; 2 and on are "audio2", "audio3"...).
func AudioTrackName(n int) string {
	if n <= 1 {
		return AudioName
	}
	return AudioName + strconv.Itoa(n)
}

// ValidAudioTrackName reports whether name is one AudioTrackName gives
// for a track within MaxAudioTracks.
func ValidAudioTrackName(name string) bool {
	if name == AudioName {
		return true
	}
	digits, ok := strings.CutPrefix(name, AudioName)
	n, err := strconv.Atoi(digits)
	return ok && err == nil && strconv.Itoa(n) == digits && n >= 2 && n <= MaxAudioTracks
}

// planMoreAudio gives each further audio stream of src its own rendition,
// encoded like the first, and labels every track for a track picker. An
// audio-only source keeps its first track only (its one variant is the
// audio). A single track is left as it always was: nothing to pick.
func planMoreAudio(src *Source, l *Ladder) {
	if l.Audio == nil || src.Audio == nil || len(src.MoreAudio) == 0 {
		return
	}
	l.Audio.Language = src.Audio.Language
	// NAME is unique within a group (RFC 8216): a repeated label gets
	// its track number.
	seen := map[string]bool{}
	label := func(a Audio, n int) string {
		s := trackLabel(a, n)
		if seen[s] {
			s += " (" + strconv.Itoa(n) + ")"
		}
		seen[s] = true
		return s
	}
	l.Audio.Label = label(*src.Audio, 1)
	for i, a := range src.MoreAudio {
		r := *l.Audio
		r.Name, r.Stream, r.Language, r.Label = AudioTrackName(i+2), a.Index, a.Language, label(a, i+2)
		l.MoreAudio = append(l.MoreAudio, r)
	}
}

// trackLabel is what a track picker shows for track n: its title, else
// its language, else its number.
func trackLabel(a Audio, n int) string {
	switch {
	case a.Title != "":
		return a.Title
	case a.Language != "":
		return a.Language
	}
	return "Track " + strconv.Itoa(n)
}
