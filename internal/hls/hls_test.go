package hls

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func sec(f float64) time.Duration { return time.Duration(f * float64(time.Second)) }

var pdt0 = time.Date(2026, 11, 26, 6, 0, 0, 0, time.UTC)

// mediaCases are encoded and compared with testdata/{name}.m3u8, then the
// golden file is parsed back and must give the same playlist.
var mediaCases = []struct {
	name string
	p    MediaPlaylist
}{
	{"media_vod_ts", MediaPlaylist{
		Version: 3, TargetDuration: 4, Type: TypeVOD, IndependentSegments: true, EndList: true,
		Segments: []Segment{
			{URI: "seg_00000.ts", Duration: sec(4)},
			{URI: "seg_00001.ts", Duration: sec(4.004)},
			{URI: "seg_00002.ts", Duration: sec(1.3336)},
		},
	}},
	{"media_live_window", MediaPlaylist{
		Version: 3, TargetDuration: 2, MediaSequence: 1042, DiscontinuitySequence: 3,
		Segments: []Segment{
			{URI: "seg_01042.ts", Duration: sec(2), ProgramDateTime: pdt0},
			{URI: "seg_01043.ts", Duration: sec(2)},
			{URI: "seg_01044.ts", Duration: sec(1.5), Discontinuity: true, ProgramDateTime: pdt0.Add(10 * time.Second)},
		},
	}},
	{"media_fmp4", MediaPlaylist{
		Version: 7, TargetDuration: 4, Type: TypeEvent, IndependentSegments: true,
		Segments: []Segment{
			{URI: "seg_0.m4s", Duration: sec(4), Map: &Map{URI: "init.mp4"}},
			{URI: "seg_1.m4s", Duration: sec(3.96), Title: "last, for now"},
		},
	}},
	{"media_empty_live", MediaPlaylist{Version: 3, TargetDuration: 4}},
}

var masterCases = []struct {
	name string
	p    MasterPlaylist
}{
	{"master_ladder", MasterPlaylist{
		Version: 3, IndependentSegments: true,
		Media: []Media{{Type: MediaAudio, GroupID: "aac", Name: "audio", Language: "und", Default: true, Autoselect: true, Channels: "2", URI: "audio/index.m3u8"}},
		Variants: []Variant{
			{URI: "720p/index.m3u8", Bandwidth: 3250000, AverageBandwidth: 2900000, Width: 1280, Height: 720, Codecs: "avc1.64001f,mp4a.40.2", FrameRate: 25, Audio: "aac"},
			{URI: "360p/index.m3u8", Bandwidth: 900123, AverageBandwidth: 800000, Width: 640, Height: 360, Codecs: "avc1.4d401e,mp4a.40.2", FrameRate: 29.97, Audio: "aac"},
		},
	}},
	{"master_audio_only", MasterPlaylist{
		Version:  3,
		Variants: []Variant{{URI: "audio/index.m3u8", Bandwidth: 140000, AverageBandwidth: 131000, Codecs: "mp4a.40.2"}},
	}},
}

func golden(t *testing.T, name string, got []byte) []byte {
	t.Helper()
	path := filepath.Join("testdata", name+".m3u8")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run with -update to create it): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from golden file:\n--- got\n%s\n--- want\n%s", name, got, want)
	}
	return want
}

func TestMediaGolden(t *testing.T) {
	for _, tt := range mediaCases {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.p.Encode()
			if err != nil {
				t.Fatal(err)
			}
			want := golden(t, tt.name, got)
			back, err := ParseMedia(want)
			if err != nil {
				t.Fatalf("parse golden: %v", err)
			}
			// Durations are written to the millisecond.
			exp := tt.p
			exp.Segments = nil
			for _, s := range tt.p.Segments {
				s.Duration = s.Duration.Round(time.Millisecond)
				exp.Segments = append(exp.Segments, s)
			}
			if !reflect.DeepEqual(*back, exp) {
				t.Errorf("round trip:\n got %+v\nwant %+v", *back, exp)
			}
		})
	}
}

func TestMasterGolden(t *testing.T) {
	for _, tt := range masterCases {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.p.Encode()
			if err != nil {
				t.Fatal(err)
			}
			want := golden(t, tt.name, got)
			back, err := ParseMaster(want)
			if err != nil {
				t.Fatalf("parse golden: %v", err)
			}
			if !reflect.DeepEqual(*back, tt.p) {
				t.Errorf("round trip:\n got %+v\nwant %+v", *back, tt.p)
			}
			if !IsMaster(want) {
				t.Error("IsMaster = false")
			}
		})
	}
}

// TestParseFFmpegOutput reads what real ffmpeg writes, for a media and a
// master playlist, and checks the segments it lists are on disk.
func TestParseFFmpegOutput(t *testing.T) {
	ffmpeg, err := exec.LookPath("ffmpeg")
	if err != nil {
		t.Skip("ffmpeg not installed")
	}
	dir := t.TempDir()
	cmd := exec.Command(ffmpeg, "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=160x90:rate=25:duration=5",
		"-f", "lavfi", "-i", "sine=duration=5",
		"-map", "0:v", "-map", "1:a", "-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-c:a", "aac",
		"-f", "hls", "-hls_time", "2", "-hls_playlist_type", "vod", "-hls_flags", "program_date_time",
		"-hls_segment_filename", filepath.Join(dir, "v%v/seg_%03d.ts"),
		"-master_pl_name", "master.m3u8", "-var_stream_map", "v:0,a:0",
		filepath.Join(dir, "v%v/index.m3u8"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	data, err := os.ReadFile(filepath.Join(dir, "v0", "index.m3u8"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := ParseMedia(data)
	if err != nil {
		t.Fatal(err)
	}
	if p.Type != TypeVOD || !p.EndList || len(p.Segments) < 2 {
		t.Errorf("parsed %+v: want a finished VOD playlist of several segments", p)
	}
	if p.Segments[0].ProgramDateTime.IsZero() || time.Since(p.Segments[0].ProgramDateTime) > time.Hour {
		t.Errorf("first segment's program date time %v, want about now", p.Segments[0].ProgramDateTime)
	}
	if d := p.Duration(); d < 4900*time.Millisecond || d > 5100*time.Millisecond {
		t.Errorf("duration %v, want 5s", d)
	}
	// Parse, encode, parse again: nothing ffmpeg wrote is lost (dates
	// compared as instants: ffmpeg writes +0000, Encode writes Z).
	enc, err := p.Encode()
	if err != nil {
		t.Fatal(err)
	}
	again, err := ParseMedia(enc)
	if err != nil || len(again.Segments) != len(p.Segments) {
		t.Fatalf("round trip of ffmpeg's playlist: %v\n%s", err, enc)
	}
	for i, s := range again.Segments {
		w := p.Segments[i]
		if s.URI != w.URI || s.Duration != w.Duration || !s.ProgramDateTime.Equal(w.ProgramDateTime) {
			t.Errorf("segment %d: %+v after round trip, was %+v", i, s, w)
		}
	}
	for _, s := range p.Segments {
		if _, err := os.Stat(filepath.Join(dir, "v0", s.URI)); err != nil {
			t.Errorf("segment listed but missing: %v", err)
		}
	}
	mdata, err := os.ReadFile(filepath.Join(dir, "master.m3u8"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := ParseMaster(mdata)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Variants) != 1 || m.Variants[0].Bandwidth <= 0 || m.Variants[0].Width != 160 {
		t.Errorf("master %+v: want one 160-wide variant", m)
	}
	if _, err := ParseMedia(mdata); !errors.Is(err, ErrNotMedia) {
		t.Errorf("ParseMedia(master) = %v, want ErrNotMedia", err)
	}
	if _, err := ParseMaster(data); !errors.Is(err, ErrNotMaster) {
		t.Errorf("ParseMaster(media) = %v, want ErrNotMaster", err)
	}
}

func TestParseMediaErrors(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"empty", "", "missing #EXTM3U"},
		{"no header", "#EXTINF:4,\na.ts\n", "missing #EXTM3U"},
		{"uri without extinf", "#EXTM3U\na.ts\n", "has no EXTINF"},
		{"negative duration", "#EXTM3U\n#EXTINF:-1,\na.ts\n", "bad duration"},
		{"nan duration", "#EXTM3U\n#EXTINF:NaN,\na.ts\n", "bad duration"},
		{"huge duration", "#EXTM3U\n#EXTINF:1e300,\na.ts\n", "bad duration"},
		{"dangling extinf", "#EXTM3U\n#EXTINF:4,\n", "no segment URI"},
		{"bad target", "#EXTM3U\n#EXT-X-TARGETDURATION:x\n", "bad integer"},
		{"bad sequence", "#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:-3\n", "bad integer"},
		{"bad type", "#EXTM3U\n#EXT-X-PLAYLIST-TYPE:LIVE\n", "unknown type"},
		{"bad date", "#EXTM3U\n#EXT-X-PROGRAM-DATE-TIME:yesterday\n", "bad date"},
		{"map without uri", "#EXTM3U\n#EXT-X-MAP:BYTERANGE=\"1@0\"\n", "cannot be written"},
		{"unterminated quote", "#EXTM3U\n#EXT-X-MAP:URI=\"init.mp4\n", "unterminated"},
		{"quote in uri", "#EXTM3U\n#EXTINF:4,\na\"b.ts\n", "cannot be written"},
		{"master", "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\na.m3u8\n", "not a media playlist"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseMedia([]byte(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestParseMasterErrors(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"no bandwidth", "#EXTM3U\n#EXT-X-STREAM-INF:RESOLUTION=1x1\na.m3u8\n", "no BANDWIDTH"},
		{"zero bandwidth", "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=0\na.m3u8\n", "BANDWIDTH is zero"},
		{"bad resolution", "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1,RESOLUTION=1280\na.m3u8\n", "RESOLUTION"},
		{"bad frame rate", "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1,FRAME-RATE=-1\na.m3u8\n", "FRAME-RATE"},
		{"uri first", "#EXTM3U\na.m3u8\n", "has no EXT-X-STREAM-INF"},
		{"two stream-inf", "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n#EXT-X-STREAM-INF:BANDWIDTH=2\na.m3u8\n", "follows another"},
		{"dangling stream-inf", "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n", "no URI"},
		{"media without group", "#EXTM3U\n#EXT-X-MEDIA:TYPE=AUDIO,NAME=\"a\"\n", "GROUP-ID"},
		{"stray quote", "#EXTM3U\n#EXT-X-MEDIA:TYPE=AU\"DIO,GROUP-ID=\"g\",NAME=\"a\"\n", "stray quote"},
		{"media playlist", "#EXTM3U\n#EXTINF:4,\na.ts\n", "not a master playlist"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseMaster([]byte(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestParseTolerates(t *testing.T) {
	in := "\xef\xbb\xbf#EXTM3U\r\n# a comment\r\n\r\n#EXT-X-UNKNOWN:1\r\n#EXTINF:2.5,\r\n  a.ts  \r\n#EXT-X-ENDLIST\r\n"
	p, err := ParseMedia([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := MediaPlaylist{EndList: true, Segments: []Segment{{URI: "a.ts", Duration: 2500 * time.Millisecond}}}
	if !reflect.DeepEqual(*p, want) {
		t.Errorf("got %+v, want %+v", *p, want)
	}
}

func TestProgramDateTimeForms(t *testing.T) {
	want := time.Date(2026, 11, 26, 6, 0, 0, 250e6, time.UTC)
	for _, in := range []string{"2026-11-26T06:00:00.250Z", "2026-11-26T06:00:00.250+00:00", "2026-11-26T06:00:00.250+0000", "2026-11-26T07:00:00.25+0100"} {
		p, err := ParseMedia([]byte("#EXTM3U\n#EXT-X-PROGRAM-DATE-TIME:" + in + "\n#EXTINF:2,\na.ts\n"))
		if err != nil {
			t.Errorf("%s: %v", in, err)
			continue
		}
		if got := p.Segments[0].ProgramDateTime; !got.Equal(want) {
			t.Errorf("%s: parsed %v, want %v", in, got, want)
		}
	}
}

func TestAttributeCommaInQuotes(t *testing.T) {
	m, err := ParseMaster([]byte("#EXTM3U\n#EXT-X-STREAM-INF:CODECS=\"avc1.64001f,mp4a.40.2\",BANDWIDTH=5\nv.m3u8\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Variants[0]; got.Codecs != "avc1.64001f,mp4a.40.2" || got.Bandwidth != 5 {
		t.Errorf("got %+v", got)
	}
}

func TestEncodeRefuses(t *testing.T) {
	tests := []struct {
		name string
		enc  func() ([]byte, error)
	}{
		{"newline in uri", (&MediaPlaylist{Segments: []Segment{{URI: "a\n#EXT-X-ENDLIST", Duration: sec(1)}}}).Encode},
		{"empty uri", (&MediaPlaylist{Segments: []Segment{{Duration: sec(1)}}}).Encode},
		{"negative duration", (&MediaPlaylist{Segments: []Segment{{URI: "a.ts", Duration: -sec(1)}}}).Encode},
		{"bad type", (&MediaPlaylist{Type: "LIVE"}).Encode},
		{"quote in codecs", (&MasterPlaylist{Variants: []Variant{{URI: "v.m3u8", Bandwidth: 1, Codecs: `a"b`}}}).Encode},
		{"no bandwidth", (&MasterPlaylist{Variants: []Variant{{URI: "v.m3u8"}}}).Encode},
		{"media without name", (&MasterPlaylist{Media: []Media{{Type: MediaAudio, GroupID: "a"}}}).Encode},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if b, err := tt.enc(); err == nil {
				t.Errorf("encoded without error:\n%s", b)
			}
		})
	}
}

func TestTargetDurationRaised(t *testing.T) {
	p := MediaPlaylist{TargetDuration: 2, Segments: []Segment{{URI: "a.ts", Duration: sec(4.6)}}}
	b, err := p.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte("#EXT-X-TARGETDURATION:5\n")) {
		t.Errorf("target duration not raised to 5:\n%s", b)
	}
}

func TestSlide(t *testing.T) {
	seg := func(i int) Segment {
		return Segment{URI: "s" + string(rune('0'+i)) + ".ts", Duration: sec(2)}
	}
	tests := []struct {
		name     string
		segs     []Segment
		keep     int
		wantSeq  uint64
		wantDisc uint64
		wantURIs []string
		wantPDT  time.Time
		wantMap  *Map
	}{
		{
			name: "nothing to drop", segs: []Segment{seg(0), seg(1)}, keep: 3,
			wantURIs: []string{"s0.ts", "s1.ts"},
		},
		{
			name: "drop two", segs: []Segment{seg(0), seg(1), seg(2), seg(3)}, keep: 2,
			wantSeq: 2, wantURIs: []string{"s2.ts", "s3.ts"},
		},
		{
			name: "dropped discontinuity counted",
			segs: []Segment{seg(0), {URI: "s1.ts", Duration: sec(2), Discontinuity: true}, seg(2)}, keep: 1,
			wantSeq: 2, wantDisc: 1, wantURIs: []string{"s2.ts"},
		},
		{
			name: "kept discontinuity not counted",
			segs: []Segment{seg(0), {URI: "s1.ts", Duration: sec(2), Discontinuity: true}}, keep: 1,
			wantSeq: 1, wantURIs: []string{"s1.ts"},
		},
		{
			name: "date carried forward",
			segs: []Segment{{URI: "s0.ts", Duration: sec(2), ProgramDateTime: pdt0}, seg(1), seg(2)}, keep: 1,
			wantSeq: 2, wantURIs: []string{"s2.ts"}, wantPDT: pdt0.Add(4 * time.Second),
		},
		{
			name: "map carried forward",
			segs: []Segment{{URI: "s0.ts", Duration: sec(2), Map: &Map{URI: "init.mp4"}}, seg(1)}, keep: 1,
			wantSeq: 1, wantURIs: []string{"s1.ts"}, wantMap: &Map{URI: "init.mp4"},
		},
		{
			name: "keep none", segs: []Segment{seg(0), seg(1)}, keep: 0,
			wantSeq: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := MediaPlaylist{Segments: append([]Segment(nil), tt.segs...)}
			dropped := p.Slide(tt.keep)
			if len(dropped)+len(p.Segments) != len(tt.segs) {
				t.Errorf("dropped %d + kept %d != %d", len(dropped), len(p.Segments), len(tt.segs))
			}
			var uris []string
			for _, s := range p.Segments {
				uris = append(uris, s.URI)
			}
			if !reflect.DeepEqual(uris, tt.wantURIs) {
				t.Errorf("kept %v, want %v", uris, tt.wantURIs)
			}
			if p.MediaSequence != tt.wantSeq || p.DiscontinuitySequence != tt.wantDisc {
				t.Errorf("sequence %d/%d, want %d/%d", p.MediaSequence, p.DiscontinuitySequence, tt.wantSeq, tt.wantDisc)
			}
			if len(p.Segments) > 0 {
				if !p.Segments[0].ProgramDateTime.Equal(tt.wantPDT) {
					t.Errorf("first date %v, want %v", p.Segments[0].ProgramDateTime, tt.wantPDT)
				}
				if !reflect.DeepEqual(p.Segments[0].Map, tt.wantMap) {
					t.Errorf("first map %v, want %v", p.Segments[0].Map, tt.wantMap)
				}
			}
		})
	}
}
