package cachekey

import (
	"bytes"
	"slices"
	"unicode/utf16"
	"unicode/utf8"
)

// This file canonicalizes JSON request bodies for keys without building
// Go values: the output is byte for byte what encoding/json gives for
//
//	json.Unmarshal (with UseNumber) into an any, then json.Marshal
//
// (object keys sorted, numbers as written, strings re-escaped as
// encoding/json escapes them), for the bodies it accepts. It accepts only
// those whose canonical form stands for them alone: one JSON value and
// nothing after it but whitespace, no duplicate member names, no invalid
// UTF-8, lone surrogate or U+FFFD in any string (encoding/json would turn
// the first two into U+FFFD, so "\xff" and "\xfe" would share a key).
// Anything else is keyed as its bytes. FuzzCanonicalJSON checks both.

// maxJSONDepth is encoding/json's nesting limit; deeper input is not JSON
// to it, so the body is keyed as it is.
const maxJSONDepth = 10000

// canonicalJSON is the canonical form of body, and whether the top-level
// object held a field ignore selects (dropped, or with redact given the
// value "REDACTED"). ok is false when body is not canonical JSON as above.
func canonicalJSON(body []byte, ignore func(string) bool, redact bool) (out []byte, found, ok bool) {
	p := jsonCanon{src: body, ignore: ignore, redact: redact}
	p.skipSpace()
	out, ok = p.value(make([]byte, 0, len(body)), 0)
	if !ok {
		return nil, false, false
	}
	p.skipSpace()
	if p.pos < len(p.src) {
		return nil, false, false
	}
	return out, p.found, true
}

type jsonCanon struct {
	src    []byte
	pos    int
	ignore func(string) bool
	redact bool
	found  bool
	str    []byte // scratch for unquoted strings
	// levels holds scratch space per object depth, reused by every object
	// at that depth (only one is being read at a time).
	levels []objectScratch
}

// objectScratch is an object's members: their unquoted keys one after
// another in keys, their canonical values in vals.
type objectScratch struct {
	members []member
	keys    []byte
	vals    []byte
}

func (p *jsonCanon) skipSpace() {
	for p.pos < len(p.src) {
		switch p.src[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

// value appends the canonical form of the value at p.pos to dst.
func (p *jsonCanon) value(dst []byte, depth int) ([]byte, bool) {
	if p.pos >= len(p.src) {
		return dst, false
	}
	switch c := p.src[p.pos]; {
	case c == '{':
		return p.object(dst, depth+1)
	case c == '[':
		return p.array(dst, depth+1)
	case c == '"':
		s, ok := p.unquote()
		if !ok {
			return dst, false
		}
		return appendJSONString(dst, s), true
	case c == '-' || c >= '0' && c <= '9':
		start := p.pos
		if !p.number() {
			return dst, false
		}
		return append(dst, p.src[start:p.pos]...), true
	case c == 't':
		return p.literal(dst, "true")
	case c == 'f':
		return p.literal(dst, "false")
	case c == 'n':
		return p.literal(dst, "null")
	}
	return dst, false
}

func (p *jsonCanon) literal(dst []byte, lit string) ([]byte, bool) {
	if !bytes.HasPrefix(p.src[p.pos:], []byte(lit)) {
		return dst, false
	}
	p.pos += len(lit)
	return append(dst, lit...), true
}

// number consumes a JSON number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func (p *jsonCanon) number() bool {
	s, i := p.src, p.pos
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	default:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if i >= len(s) || s[i] < '0' || s[i] > '9' {
			return false
		}
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if i >= len(s) || s[i] < '0' || s[i] > '9' {
			return false
		}
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	}
	p.pos = i
	return true
}

func (p *jsonCanon) array(dst []byte, depth int) ([]byte, bool) {
	if depth > maxJSONDepth {
		return dst, false
	}
	p.pos++ // '['
	dst = append(dst, '[')
	p.skipSpace()
	if p.pos < len(p.src) && p.src[p.pos] == ']' {
		p.pos++
		return append(dst, ']'), true
	}
	for n := 0; ; n++ {
		if n > 0 {
			dst = append(dst, ',')
		}
		var ok bool
		if dst, ok = p.value(dst, depth); !ok {
			return dst, false
		}
		p.skipSpace()
		if p.pos >= len(p.src) {
			return dst, false
		}
		switch p.src[p.pos] {
		case ',':
			p.pos++
			p.skipSpace()
		case ']':
			p.pos++
			return append(dst, ']'), true
		default:
			return dst, false
		}
	}
}

// member is one object member: the spans of its unquoted key and of its
// canonical value in the object's scratch.
type member struct {
	k0, k1, v0, v1 int
}

func (p *jsonCanon) object(dst []byte, depth int) ([]byte, bool) {
	if depth > maxJSONDepth {
		return dst, false
	}
	p.pos++ // '{'
	p.skipSpace()
	if p.pos < len(p.src) && p.src[p.pos] == '}' {
		p.pos++
		return append(dst, '{', '}'), true
	}
	for len(p.levels) < depth {
		p.levels = append(p.levels, objectScratch{})
	}
	sc := p.levels[depth-1]
	members, keys, vals := sc.members[:0], sc.keys[:0], sc.vals[:0]
	for {
		if p.pos >= len(p.src) || p.src[p.pos] != '"' {
			return dst, false
		}
		k, ok := p.unquote()
		if !ok {
			return dst, false
		}
		k0 := len(keys)
		keys = append(keys, k...)
		p.skipSpace()
		if p.pos >= len(p.src) || p.src[p.pos] != ':' {
			return dst, false
		}
		p.pos++
		p.skipSpace()
		v0 := len(vals)
		if vals, ok = p.value(vals, depth); !ok {
			return dst, false
		}
		members = append(members, member{k0, len(keys), v0, len(vals)})
		p.skipSpace()
		if p.pos >= len(p.src) {
			return dst, false
		}
		if p.src[p.pos] == '}' {
			p.pos++
			break
		}
		if p.src[p.pos] != ',' {
			return dst, false
		}
		p.pos++
		p.skipSpace()
	}
	slices.SortStableFunc(members, func(a, b member) int {
		return bytes.Compare(keys[a.k0:a.k1], keys[b.k0:b.k1])
	})
	for i := 1; i < len(members); i++ {
		if bytes.Equal(keys[members[i-1].k0:members[i-1].k1], keys[members[i].k0:members[i].k1]) {
			// Duplicate names: {"a":1,"a":2} would share {"a":2}'s key.
			return dst, false
		}
	}
	top := depth == 1 && p.ignore != nil
	dst = append(dst, '{')
	first := true
	for _, m := range members {
		key := keys[m.k0:m.k1]
		value := vals[m.v0:m.v1]
		if top && p.ignore(string(key)) {
			p.found = true
			if !p.redact {
				continue
			}
			value = []byte(`"` + Redacted + `"`)
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = appendJSONString(dst, key)
		dst = append(dst, ':')
		dst = append(dst, value...)
	}
	p.levels[depth-1] = objectScratch{members, keys, vals}
	return append(dst, '}'), true
}

// unquote consumes the string at p.pos and returns its value as
// encoding/json decodes it; ok is false for a string holding invalid UTF-8,
// a lone surrogate or U+FFFD (see the file comment). The result is valid
// until the next call.
func (p *jsonCanon) unquote() ([]byte, bool) {
	s := p.src
	i := p.pos + 1
	out := p.str[:0]
	for {
		if i >= len(s) {
			return nil, false
		}
		c := s[i]
		switch {
		case c == '"':
			p.pos = i + 1
			p.str = out
			return out, true
		case c < ' ':
			return nil, false
		case c == '\\':
			if i+1 >= len(s) {
				return nil, false
			}
			switch e := s[i+1]; e {
			case '"', '\\', '/':
				out = append(out, e)
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
			case 'u':
				r, ok := hex4(s[i+2:])
				if !ok {
					return nil, false
				}
				i += 6
				if utf16.IsSurrogate(r) {
					// Only a valid pair is a character.
					if len(s) >= i+6 && s[i] == '\\' && s[i+1] == 'u' {
						if r2, ok := hex4(s[i+2:]); ok {
							if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
								out = utf8.AppendRune(out, d)
								i += 6
								continue
							}
						}
					}
					return nil, false
				}
				if r == utf8.RuneError {
					return nil, false
				}
				out = utf8.AppendRune(out, r)
				continue
			default:
				return nil, false
			}
			i += 2
		case c < utf8.RuneSelf:
			out = append(out, c)
			i++
		default:
			r, size := utf8.DecodeRune(s[i:])
			if r == utf8.RuneError {
				return nil, false
			}
			out = append(out, s[i:i+size]...)
			i += size
		}
	}
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// appendJSONString appends s (valid UTF-8, as unquote returns it) quoted
// the way encoding/json quotes strings with HTML escaping: ", \ and
// control characters escaped, <, > and & as \u003c, \u003e, \u0026, and
// U+2028, U+2029 as \u2028, \u2029.
func appendJSONString(dst, s []byte) []byte {
	const hexDigits = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			if b >= ' ' && b != '"' && b != '\\' && b != '<' && b != '>' && b != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
