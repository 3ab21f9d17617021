package media

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxTagRunes bounds a title taken from a stream's tags: it is shown in a
// track picker and written into a master playlist.
const maxTagRunes = 64

// tagText is a stream tag made safe to show and to quote in a playlist
// attribute: valid UTF-8, no control characters or quotes, trimmed and
// bounded.
func tagText(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "")
	}
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '"' {
			return -1
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) > maxTagRunes {
		s = string([]rune(s)[:maxTagRunes])
	}
	return s
}

// tagLanguage is a stream's language tag when it has the shape of a
// language code (ISO 639-2 as containers write it, or a BCP 47 tag), else
// "": "und" (undetermined) is no language.
func tagLanguage(s string) string {
	s = strings.TrimSpace(s)
	if s == "" || strings.EqualFold(s, "und") || len(s) > 35 {
		return ""
	}
	const letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	for i, part := range strings.Split(s, "-") {
		ok := len(part) >= 1 && len(part) <= 8 && strings.Trim(part, letters+"0123456789") == ""
		if i == 0 { // the language itself: ISO 639's two or three letters
			ok = len(part) >= 2 && len(part) <= 3 && strings.Trim(part, letters) == ""
		}
		if !ok {
			return ""
		}
	}
	return s
}

// streamTitle is a stream's title tag, or its MP4 handler name (where MP4
// muxers keep a track's title) unless that is a muxer's default.
func streamTitle(title, handler string) string {
	if t := tagText(title); t != "" {
		return t
	}
	switch h := tagText(handler); h {
	case "SoundHandler", "VideoHandler", "SubtitleHandler", "Core Media Audio", "Core Media Video",
		"Core Media Text", "Apple Sound Media Handler", "Apple Video Media Handler", "Apple Text Media Handler":
		return ""
	default:
		return h
	}
}
