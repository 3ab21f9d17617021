package hls

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// attr is one KEY=VALUE pair of an attribute list, with quotes removed from
// quoted-string values.
type attr struct {
	key, value string
	quoted     bool
}

// parseAttrs splits an attribute list (RFC 8216 §4.2). Commas inside quoted
// strings do not split.
func parseAttrs(s string) ([]attr, error) {
	var out []attr
	for len(s) > 0 {
		eq := strings.IndexByte(s, '=')
		if eq <= 0 {
			return nil, fmt.Errorf("attribute %q has no name or value", s)
		}
		a := attr{key: strings.TrimSpace(s[:eq])}
		if a.key == "" {
			return nil, errors.New("empty attribute name")
		}
		s = s[eq+1:]
		if strings.HasPrefix(s, `"`) {
			end := strings.IndexByte(s[1:], '"')
			if end < 0 {
				return nil, fmt.Errorf("attribute %s: unterminated quoted string", a.key)
			}
			a.value, a.quoted = s[1:1+end], true
			s = s[end+2:]
			if s != "" && s[0] != ',' {
				return nil, fmt.Errorf("attribute %s: text after quoted string", a.key)
			}
		} else {
			end := strings.IndexByte(s, ',')
			if end < 0 {
				end = len(s)
			}
			a.value = strings.TrimSpace(s[:end])
			if strings.Contains(a.value, `"`) {
				return nil, fmt.Errorf("attribute %s: stray quote", a.key)
			}
			s = s[end:]
		}
		s = strings.TrimPrefix(s, ",")
		out = append(out, a)
	}
	return out, nil
}

func parseInt(key, v string, max int64) (int64, error) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 || n > max {
		return 0, fmt.Errorf("%s: bad integer %q", key, v)
	}
	return n, nil
}

// attrWriter builds an attribute list in a fixed order.
type attrWriter struct {
	b   strings.Builder
	err error
}

func (w *attrWriter) raw(key, v string) {
	if w.b.Len() > 0 {
		w.b.WriteByte(',')
	}
	w.b.WriteString(key)
	w.b.WriteByte('=')
	w.b.WriteString(v)
}

func (w *attrWriter) quoted(key, v string) {
	if strings.ContainsAny(v, "\"\r\n") {
		w.err = errors.Join(w.err, fmt.Errorf("%s %q: quotes and line breaks cannot be written", key, v))
		return
	}
	w.raw(key, `"`+v+`"`)
}

func (w *attrWriter) enum(key, v string) {
	if v == "" || strings.ContainsAny(v, "\",\r\n \t") {
		w.err = errors.Join(w.err, fmt.Errorf("%s %q: not a valid enumerated value", key, v))
		return
	}
	w.raw(key, v)
}

func (w *attrWriter) yesNo(key string, v bool) {
	if v {
		w.raw(key, "YES")
	} else {
		w.raw(key, "NO")
	}
}
