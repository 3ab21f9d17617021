package captions

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// ErrInvalid is wrapped by every refusal of Parse; the rest of the
// message is a sentence for the person who sent the file.
var ErrInvalid = errors.New("invalid captions")

// Bounds on what Parse accepts.
const (
	MaxBytes    = 1 << 20        // a feature film's subtitles are about 100 KiB
	MaxCues     = 10000          // about one every second for almost three hours
	MaxCueRunes = 1000           // a cue is a few lines on screen
	MaxTime     = 24 * time.Hour // no video is longer
	maxLineLen  = 4096           // bytes; a timing line with settings is short
)

// Track is a checked subtitle file: its cues in time order.
type Track struct {
	Cues []Cue
}

// Cue is one caption: when it shows, where (WebVTT cue settings), and its
// text with only WebVTT's own markup, lines joined by "\n".
type Cue struct {
	Start, End time.Duration
	Settings   string
	Text       string
}

func invalid(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, a...))
}

// Parse reads a WebVTT or SubRip file (told apart by WebVTT's signature)
// and checks it: UTF-8 text (a BOM is dropped; UTF-16 and other encodings
// and binary files are refused, with the reason), at most MaxBytes and
// MaxCues, every cue with a start before its end within MaxTime.
func Parse(data []byte) (*Track, error) {
	if len(data) > MaxBytes {
		return nil, invalid("the file is %d bytes, more than the %d bytes (1 MiB) a captions file may have", len(data), MaxBytes)
	}
	if err := checkText(data); err != nil {
		return nil, err
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	text := strings.ReplaceAll(strings.ReplaceAll(string(data), "\r\n", "\n"), "\r", "\n")
	var t *Track
	var err error
	if isWebVTT(text) {
		t, err = parseWebVTT(text)
	} else {
		t, err = parseSRT(text)
	}
	if err != nil {
		return nil, err
	}
	if len(t.Cues) == 0 {
		return nil, invalid("the file has no cues")
	}
	return t, nil
}

// checkText refuses what is not UTF-8 text, saying what it seems to be.
func checkText(data []byte) error {
	switch {
	case len(bytes.TrimSpace(data)) == 0:
		return invalid("the file is empty")
	case bytes.HasPrefix(data, []byte{0xff, 0xfe}) || bytes.HasPrefix(data, []byte{0xfe, 0xff}):
		return invalid("the file is UTF-16 text; save it as UTF-8 and send it again")
	}
	for _, b := range data[:min(len(data), 8192)] {
		if b == 0 || (b < 0x20 && b != '\t' && b != '\n' && b != '\r' && b != '\f') {
			return invalid("the file is binary, not a text captions file")
		}
	}
	if !utf8.Valid(data) {
		// Latin-1 and Windows-1252 files are the usual case.
		return invalid("the file is not UTF-8 text (it may be in another encoding, such as Windows-1252); save it as UTF-8 and send it again")
	}
	if bytes.IndexByte(data, 0) >= 0 {
		return invalid("the file is binary, not a text captions file")
	}
	return nil
}

func isWebVTT(text string) bool {
	return text == "WEBVTT" || strings.HasPrefix(text, "WEBVTT\n") || strings.HasPrefix(text, "WEBVTT ") || strings.HasPrefix(text, "WEBVTT\t")
}

// blocks splits text into blocks of non-empty lines.
func blocks(text string) [][]string {
	var out [][]string
	var cur []string
	for line := range strings.SplitSeq(text, "\n") {
		if strings.TrimSpace(line) == "" {
			if len(cur) > 0 {
				out = append(out, cur)
				cur = nil
			}
			continue
		}
		cur = append(cur, line)
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

func parseWebVTT(text string) (*Track, error) {
	bs := blocks(text)
	t := &Track{}
	for i, b := range bs[1:] { // the first block is the header
		n := i + 2
		switch first := b[0]; {
		case strings.HasPrefix(first, "NOTE"), strings.HasPrefix(first, "STYLE"), strings.HasPrefix(first, "REGION"):
			continue // comments, and CSS and regions, which are not kept
		}
		timing := 0
		if !strings.Contains(b[0], "-->") {
			timing = 1 // a cue identifier, not kept
		}
		if timing >= len(b) || !strings.Contains(b[timing], "-->") {
			return nil, invalid("block %d is neither a cue nor a note: %q", n, clip(b[0]))
		}
		c, err := cue(b[timing], b[timing+1:], true, n)
		if err != nil {
			return nil, err
		}
		if err := t.add(c); err != nil {
			return nil, err
		}
	}
	return t, nil
}

func parseSRT(text string) (*Track, error) {
	t := &Track{}
	for i, b := range blocks(text) {
		n := i + 1
		timing := 0
		if !strings.Contains(b[0], "-->") {
			if _, err := strconv.Atoi(strings.TrimSpace(b[0])); err != nil {
				if i == 0 {
					return nil, invalid("the file is neither WebVTT (it would start with WEBVTT) nor SubRip (it would start with a cue number)")
				}
				return nil, invalid("cue %d does not start with its number: %q", n, clip(b[0]))
			}
			timing = 1
		}
		if timing >= len(b) {
			return nil, invalid("cue %d has no times", n)
		}
		c, err := cue(b[timing], b[timing+1:], false, n)
		if err != nil {
			return nil, err
		}
		if err := t.add(c); err != nil {
			return nil, err
		}
	}
	return t, nil
}

func (t *Track) add(c Cue) error {
	if len(t.Cues) >= MaxCues {
		return invalid("the file has more than %d cues", MaxCues)
	}
	t.Cues = append(t.Cues, c)
	return nil
}

// cue reads a timing line ("start --> end [settings]") and the cue's text
// lines.
func cue(timing string, lines []string, vtt bool, n int) (Cue, error) {
	if len(timing) > maxLineLen {
		return Cue{}, invalid("cue %d: the timing line is too long", n)
	}
	a, rest, _ := strings.Cut(timing, "-->")
	fields := strings.Fields(rest)
	if len(fields) == 0 {
		return Cue{}, invalid("cue %d has no end time: %q", n, clip(timing))
	}
	start, ok1 := parseTime(strings.TrimSpace(a), vtt)
	end, ok2 := parseTime(fields[0], vtt)
	switch {
	case !ok1 || !ok2:
		return Cue{}, invalid("cue %d: %q is not a time range such as 00:00:01.000 --> 00:00:04.000", n, clip(timing))
	case end <= start:
		return Cue{}, invalid("cue %d ends (%s) before it starts (%s)", n, stamp(end), stamp(start))
	case end > MaxTime:
		return Cue{}, invalid("cue %d ends after %s", n, stamp(MaxTime))
	}
	c := Cue{Start: start, End: end}
	if vtt {
		c.Settings = settings(fields[1:])
	}
	var text []string
	for _, l := range lines {
		if s := strings.TrimSpace(markup(l)); s != "" {
			text = append(text, s)
		}
	}
	c.Text = strings.Join(text, "\n")
	if utf8.RuneCountInString(c.Text) > MaxCueRunes {
		return Cue{}, invalid("cue %d has more than %d characters", n, MaxCueRunes)
	}
	return c, nil
}

// parseTime reads [hh:]mm:ss.ttt (SubRip: hh:mm:ss,ttt).
func parseTime(s string, vtt bool) (time.Duration, bool) {
	if !vtt {
		s = strings.Replace(s, ",", ".", 1)
	}
	hms, frac, ok := strings.Cut(s, ".")
	if !ok || len(frac) != 3 || !isDigit(frac) {
		return 0, false
	}
	parts := strings.Split(hms, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return 0, false
	}
	var v [3]int
	for i, p := range parts {
		if p == "" || len(p) > 4 || !isDigit(p) {
			return 0, false
		}
		v[3-len(parts)+i], _ = strconv.Atoi(p)
	}
	if v[1] > 59 || v[2] > 59 {
		return 0, false
	}
	ms, _ := strconv.Atoi(frac)
	return time.Duration(v[0])*time.Hour + time.Duration(v[1])*time.Minute + time.Duration(v[2])*time.Second +
		time.Duration(ms)*time.Millisecond, true
}

// stamp writes d as a WebVTT timestamp, hh:mm:ss.ttt.
func stamp(d time.Duration) string {
	ms := d.Milliseconds()
	return fmt.Sprintf("%02d:%02d:%02d.%03d", ms/3600000, ms/60000%60, ms/1000%60, ms%1000)
}

// settings keeps the WebVTT cue settings that place a cue, with values
// of the shapes WebVTT defines; region (regions are dropped) and anything
// else go.
func settings(fields []string) string {
	var keep []string
	for _, f := range fields {
		k, v, ok := strings.Cut(f, ":")
		if !ok || v == "" || len(v) > 32 || strings.Trim(v, "0123456789.%,-abcdefghijklmnopqrstuvwxyz") != "" {
			continue
		}
		switch k {
		case "vertical", "line", "position", "size", "align":
			keep = append(keep, k+":"+v)
		}
	}
	return strings.Join(keep, " ")
}

func clip(s string) string {
	if utf8.RuneCountInString(s) > 40 {
		return string([]rune(s)[:40]) + "…"
	}
	return s
}
