package media

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// A source with a hundred audio streams gets MaxAudioTracks renditions,
// and its subtitle streams are bounded alike; picture subtitles and
// undecodable further tracks are left out, not refused.
func TestTracksAreBounded(t *testing.T) {
	var streams []string
	streams = append(streams, `{"index":0,"codec_type":"video","codec_name":"h264","width":320,"height":240,"avg_frame_rate":"25/1","nb_frames":"100"}`)
	for i := 1; i <= 100; i++ {
		codec := "aac"
		if i == 2 {
			codec = "weird"
		}
		streams = append(streams, fmt.Sprintf(`{"index":%d,"codec_type":"audio","codec_name":%q,"channels":2,"tags":{"language":"eng","title":"T%d"}}`, i, codec, i))
	}
	streams = append(streams, `{"index":101,"codec_type":"subtitle","codec_name":"hdmv_pgs_subtitle"}`)
	for i := 102; i < 130; i++ {
		streams = append(streams, fmt.Sprintf(`{"index":%d,"codec_type":"subtitle","codec_name":"subrip","tags":{"language":"und"}}`, i))
	}
	raw := `{"format":{"format_name":"matroska,webm","duration":"4"},"streams":[` + strings.Join(streams, ",") + `]}`
	var pj probeJSON
	if err := json.Unmarshal([]byte(raw), &pj); err != nil {
		t.Fatal(err)
	}
	src, err := sourceFrom(&pj)
	if err != nil {
		t.Fatal(err)
	}
	if n := 1 + len(src.MoreAudio); n != MaxAudioTracks {
		t.Errorf("%d audio tracks kept, want %d", n, MaxAudioTracks)
	}
	for _, a := range src.MoreAudio {
		if a.Codec != "aac" {
			t.Errorf("kept a further track in %s", a.Codec)
		}
	}
	if len(src.Subtitles) != MaxSubtitleTracks || src.Subtitles[0].Index != 102 || src.Subtitles[0].Language != "" {
		t.Errorf("subtitles %+v, want %d subrip streams from 102 without a language", src.Subtitles, MaxSubtitleTracks)
	}
	l, err := PlanLadder(src, LadderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(l.MoreAudio) != MaxAudioTracks-1 || l.MoreAudio[0].Name != "audio2" || l.MoreAudio[0].Stream != 3 || l.MoreAudio[0].Label != "T3" {
		t.Errorf("more audio %+v", l.MoreAudio)
	}
	for _, a := range l.MoreAudio {
		if !ValidAudioTrackName(a.Name) {
			t.Errorf("%s is not a valid track name", a.Name)
		}
	}
}

func TestTrackLabelsAreUnique(t *testing.T) {
	src := &Source{Duration: 4, Video: &Video{Width: 320, Height: 240, FPS: 25},
		Audio:     &Audio{Index: 1, Language: "eng"},
		MoreAudio: []Audio{{Index: 2, Language: "eng"}, {Index: 3}}}
	l, err := PlanLadder(src, LadderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := []string{l.Audio.Label, l.MoreAudio[0].Label, l.MoreAudio[1].Label}
	if want := "eng,eng (2),Track 3"; strings.Join(got, ",") != want {
		t.Errorf("labels %v, want %s", got, want)
	}
	// Audio-only: one track, as before.
	src.Video = nil
	if l, _ := PlanLadder(src, LadderOptions{}); len(l.MoreAudio) != 0 || l.Audio.Label != "" {
		t.Errorf("audio-only ladder has further tracks: %+v", l)
	}
}

func TestTagText(t *testing.T) {
	cases := []struct{ in, title, lang string }{
		{"English", "English", ""},
		{"a\"b\x00c\nd", "abcd", ""},
		{"\xff\xfeok", "ok", ""},
		{strings.Repeat("é", 100), strings.Repeat("é", maxTagRunes), ""},
		{"eng", "eng", "eng"},
		{"pt-BR", "pt-BR", "pt-BR"},
		{"und", "und", ""},
		{"e n", "e n", ""},
		{"x\"", "x", ""},
	}
	for _, c := range cases {
		if got := tagText(c.in); got != c.title {
			t.Errorf("tagText(%q) = %q, want %q", c.in, got, c.title)
		}
		if got := tagLanguage(c.in); got != c.lang {
			t.Errorf("tagLanguage(%q) = %q, want %q", c.in, got, c.lang)
		}
	}
	if streamTitle("", "SoundHandler") != "" || streamTitle("", "Director") != "Director" || streamTitle("T", "H") != "T" {
		t.Error("streamTitle does not prefer the title and skip default handler names")
	}
}
