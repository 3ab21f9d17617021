package captions

import (
	"errors"
	"strings"
	"testing"
)

func TestParseWritesCleanWebVTT(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"srt", "1\r\n00:00:01,000 --> 00:00:02,500\r\nHello <font color=\"red\">world</font>\r\n\r\n2\r\n00:00:03,000 --> 00:00:04,000\r\n<i>second</i> & more\r\n",
			"WEBVTT\n\n00:00:01.000 --> 00:00:02.500\nHello world\n\n00:00:03.000 --> 00:00:04.000\n<i>second</i> &amp; more\n"},
		{"vtt with BOM, notes, style, ids and settings", "\xef\xbb\xbfWEBVTT - a title\nKind: captions\n\nNOTE a comment\n\nSTYLE\n::cue { background: url(http://evil/x) }\n\nintro\n01:02.000 --> 01:03.000 align:start region:r1 position:10% bogus:x line:0\n<v.loud Roger <b>Bingham>We are</v> <c.yellow.bg_blue>here</c> &lt;ok&gt; -->\n<script>alert(1)</script>\n",
			"WEBVTT\n\n00:01:02.000 --> 00:01:03.000 align:start position:10% line:0\n<v.loud Roger &lt;b>Bingham&gt;We are</v> <c.yellow.bg_blue>here</c> &lt;ok&gt; --&gt;\nalert(1)\n"},
		{"karaoke and lang", "WEBVTT\n\n00:00:00.500 --> 00:00:02.000\n<lang EN-us>one <00:00:01.000>two</lang> <lang ?>x</lang>\n",
			"WEBVTT\n\n00:00:00.500 --> 00:00:02.000\n<lang en-US>one <00:00:01.000>two</lang> x</lang>\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tr, err := Parse([]byte(c.in))
			if err != nil {
				t.Fatal(err)
			}
			if got := string(tr.WebVTT(0)); got != c.want {
				t.Errorf("got\n%s\nwant\n%s", got, c.want)
			}
			// What it writes reads back the same.
			again, err := Parse(tr.WebVTT(0))
			if err != nil || string(again.WebVTT(0)) != c.want {
				t.Errorf("does not read back: %v", err)
			}
		})
	}
	tr, _ := Parse([]byte("WEBVTT\n\n00:01.000 --> 00:02.000\nx\n"))
	if got := string(tr.WebVTT(126000)); !strings.HasPrefix(got, "WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:126000,LOCAL:00:00:00.000\n\n") {
		t.Errorf("no timestamp map: %q", got)
	}
}

func TestParseRefusesWithReasons(t *testing.T) {
	many := "WEBVTT\n\n" + strings.Repeat("00:00:01.000 --> 00:00:02.000\nx\n\n", MaxCues+1)
	cases := []struct{ name, in, reason string }{
		{"binary", "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"},
		{"nul in text", "1\n00:00:01,000 --> 00:00:02,000\nhi\x00\n", "binary"},
		{"utf-16", "\xff\xfeW\x00E\x00B\x00", "UTF-16"},
		{"latin-1", "1\n00:00:01,000 --> 00:00:02,000\ncaf\xe9\n", "not UTF-8"},
		{"huge", "WEBVTT\n\n" + strings.Repeat("a", MaxBytes), "1 MiB"},
		{"too many cues", many, "more than 10000 cues"},
		{"empty", " \n\n", "empty"},
		{"no cues", "WEBVTT\n\nNOTE nothing\n", "no cues"},
		{"not captions", "hello there\nthis is a letter\n", "neither WebVTT"},
		{"end before start", "WEBVTT\n\n00:00:05.000 --> 00:00:02.000\nx\n", "ends (00:00:02.000) before it starts"},
		{"equal times", "1\n00:00:05,000 --> 00:00:05,000\nx\n", "before it starts"},
		{"bad time", "WEBVTT\n\n00:00:05 --> 00:00:06.000\nx\n", "not a time range"},
		{"minutes 60", "WEBVTT\n\n00:60:05.000 --> 01:00:06.000\nx\n", "not a time range"},
		{"past a day", "WEBVTT\n\n23:59:00.000 --> 9999:00:00.000\nx\n", "ends after"},
		{"stray block", "WEBVTT\n\nfoo\nbar\n", "neither a cue nor a note"},
		{"long cue", "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n" + strings.Repeat("x", MaxCueRunes+1) + "\n", "characters"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse([]byte(c.in))
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.reason) {
				t.Errorf("Parse = %v, want ErrInvalid saying %q", err, c.reason)
			}
		})
	}
}

func TestCanonicalLanguage(t *testing.T) {
	good := map[string]string{"en": "en", "EN-us": "en-US", "zh-hant-tw": "zh-Hant-TW", "es-419": "es-419", "sl-rozaj-biske": "sl-rozaj-biske",
		"de-CH-1996": "de-CH-1996", "en-x-custom": "en-x-custom", "zh-yue": "zh-yue", "fra": "fra", "en-a-bbb-x-a-ccc": "en-a-bbb-x-a-ccc"}
	for in, want := range good {
		if got, ok := CanonicalLanguage(in); !ok || got != want {
			t.Errorf("CanonicalLanguage(%q) = %q %v, want %q", in, got, ok, want)
		}
	}
	for _, bad := range []string{"", "e", "english1", "en_US", "en-", "-en", "en--US", "en-US-US", "en-x", "en-a", "1234",
		"en US", "en-\"", "abcd", strings.Repeat("a", 36), "en-Latn-Latn", "x-private"} {
		if got, ok := CanonicalLanguage(bad); ok {
			t.Errorf("CanonicalLanguage(%q) = %q, accepted", bad, got)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n<b>x</b>\n"))
	f.Add([]byte("1\n00:00:01,000 --> 00:00:02,000\nx & y\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		tr, err := Parse(b)
		if err != nil {
			return
		}
		out := tr.WebVTT(90000)
		again, err := Parse(out)
		if err != nil {
			t.Fatalf("output does not parse: %v\n%s", err, out)
		}
		if len(again.Cues) != len(tr.Cues) {
			t.Fatalf("%d cues read back as %d", len(tr.Cues), len(again.Cues))
		}
		for i, c := range tr.Cues {
			if c.Start != again.Cues[i].Start || c.End != again.Cues[i].End || c.End > MaxTime || c.Start >= c.End {
				t.Fatalf("cue %d times changed or insane", i)
			}
		}
	})
}
