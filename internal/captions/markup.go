package captions

import "strings"

// voiceTags are WebVTT's cue text tags (the class and voice spans, and
// b, i, u, ruby, rt, lang): others (SubRip's <font>, HTML) are dropped.
var voiceTags = map[string]bool{"c": true, "i": true, "b": true, "u": true, "ruby": true, "rt": true, "v": true, "lang": true}

// entities WebVTT knows; any other & is written as &amp;.
var entities = []string{"&amp;", "&lt;", "&gt;", "&lrm;", "&rlm;", "&nbsp;"}

// markup returns a cue text line with only WebVTT's tags, in a canonical
// form, and its text escaped: nothing in it can end the cue ("-->") or be
// read as markup WebVTT does not define.
func markup(line string) string {
	var b strings.Builder
	for line != "" {
		i := strings.IndexAny(line, "<&>")
		if i < 0 {
			b.WriteString(line)
			break
		}
		b.WriteString(line[:i])
		line = line[i:]
		switch line[0] {
		case '>':
			b.WriteString("&gt;")
			line = line[1:]
		case '&':
			ent, n := entity(line)
			b.WriteString(ent)
			line = line[n:]
		case '<':
			end := strings.IndexByte(line, '>')
			if end < 0 {
				b.WriteString("&lt;")
				line = line[1:]
				continue
			}
			b.WriteString(tag(line[1:end]))
			line = line[end+1:]
		}
	}
	return strings.ReplaceAll(b.String(), "-->", "--&gt;")
}

// tag is the canonical form of the tag whose inside is s, or "" to drop
// it.
func tag(s string) string {
	if closing, ok := strings.CutPrefix(s, "/"); ok {
		name, _, _ := strings.Cut(closing, ".")
		if voiceTags[name] {
			return "</" + name + ">"
		}
		return ""
	}
	if _, ok := parseTime(s, true); ok { // a karaoke timestamp
		return "<" + s + ">"
	}
	head, annotation, _ := strings.Cut(s, " ")
	name, classes, _ := strings.Cut(head, ".")
	if !voiceTags[name] {
		return ""
	}
	out := name
	for c := range strings.SplitSeq(classes, ".") {
		if c != "" && len(c) <= 32 && strings.Trim(c, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") == "" {
			out += "." + c
		}
	}
	switch name {
	case "v":
		// The speaker's name: text, escaped.
		a := escapeAmp(strings.NewReplacer("<", "&lt;", ">", "&gt;").Replace(strings.TrimSpace(annotation)))
		if a != "" {
			out += " " + clip(a)
		}
	case "lang":
		l, ok := CanonicalLanguage(strings.TrimSpace(annotation))
		if !ok {
			return ""
		}
		out += " " + l
	}
	return "<" + out + ">"
}

// entity is the entity s starts with and its length, or "&amp;" for a
// lone "&" (length 1).
func entity(s string) (string, int) {
	for _, e := range entities {
		if strings.HasPrefix(s, e) {
			return e, len(e)
		}
	}
	return "&amp;", 1
}

// escapeAmp writes every & that starts no entity as &amp;.
func escapeAmp(s string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '&')
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		e, n := entity(s[i:])
		b.WriteString(e)
		s = s[i+n:]
	}
}
