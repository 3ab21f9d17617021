package captions

import "strings"

// CanonicalLanguage checks that tag is a well-formed BCP 47 language tag
// (RFC 5646: language, extlang, script, region, variants, extensions,
// private use) and returns it in its canonical case ("pt-BR",
// "zh-Hant-TW"), or "" and false.
func CanonicalLanguage(tag string) (string, bool) {
	if tag == "" || len(tag) > 35 {
		return "", false
	}
	parts := strings.Split(tag, "-")
	for _, p := range parts {
		if p == "" || len(p) > 8 || !isAlnum(p) {
			return "", false
		}
	}
	lang := strings.ToLower(parts[0])
	if !isAlpha(lang) || len(lang) == 4 || len(lang) < 2 {
		return "", false
	}
	out := []string{lang}
	// Subtags come in this order, each kind at most once except extlang
	// (up to three), variants and extensions.
	const (
		extlang = iota
		script
		region
		variant
		extension
	)
	stage, extlangs := extlang, 0
	for i := 1; i < len(parts); i++ {
		p := strings.ToLower(parts[i])
		switch {
		case p == "x": // private use: the rest is free-form
			if i == len(parts)-1 {
				return "", false
			}
			out = append(out, parts[i:]...)
			return strings.Join(out, "-"), true
		case len(p) == 1: // an extension singleton and its subtags
			j := i + 1
			for j < len(parts) && len(parts[j]) >= 2 {
				j++
			}
			if j == i+1 {
				return "", false
			}
			for _, e := range parts[i:j] {
				out = append(out, strings.ToLower(e))
			}
			i, stage = j-1, extension
		case stage > variant:
			return "", false
		case stage <= extlang && len(p) == 3 && isAlpha(p) && len(lang) <= 3 && extlangs < 3:
			extlangs++
			out = append(out, p)
		case stage <= script && len(p) == 4 && isAlpha(p):
			out = append(out, strings.ToUpper(p[:1])+p[1:])
			stage = region
		case stage <= region && ((len(p) == 2 && isAlpha(p)) || (len(p) == 3 && isDigit(p))):
			out = append(out, strings.ToUpper(p))
			stage = variant
		case (len(p) >= 5) || (len(p) == 4 && p[0] >= '0' && p[0] <= '9'):
			out = append(out, p)
			stage = variant
		default:
			return "", false
		}
	}
	return strings.Join(out, "-"), true
}

func isAlpha(s string) bool {
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

func isDigit(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func isAlnum(s string) bool {
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}
