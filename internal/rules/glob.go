package rules

import "unicode/utf8"

// This file is the glob of urls_expire_after patterns: path.Match syntax
// (? one character but "/", [...] a class, \ an escape) where * matches any
// run of characters, "/" included (fnmatch, as requests-cache's patterns).
//
// It is compiled once and matched in O(len(pattern)·len(s)) without
// allocating: every request is matched against every pattern (a hit too:
// the expiration is chosen before the lookup). Splitting at each * and
// trying every split of the URL recursively, as path.Match pieces, cost
// 2.4 µs a pattern on a short URL and grew as len(URL)^stars: three stars
// against a 400-character URL took 3 s.

// glob is a compiled pattern: the pieces between its stars, each a run of
// one-character tokens. A pattern without a star is one piece that must
// match the whole string.
type glob struct {
	pieces [][]globToken
	bad    bool // not path.Match syntax: matches nothing
}

// globToken matches one character: a byte (lit), any rune but "/" (any),
// or a rune in (or, negated, not in) a class's ranges.
type globToken struct {
	kind    byte // 'l' literal, '?' any, '[' class
	lit     byte
	negated bool
	ranges  []runeRange
}

type runeRange struct{ lo, hi rune }

// compileGlob compiles pattern; an invalid one (config rejects those)
// matches nothing.
func compileGlob(pattern string) glob {
	var g glob
	piece := []globToken{}
	for p := pattern; len(p) > 0; {
		switch p[0] {
		case '*':
			g.pieces = append(g.pieces, piece)
			piece = []globToken{}
			p = p[1:]
		case '?':
			piece = append(piece, globToken{kind: '?'})
			p = p[1:]
		case '[':
			t, rest, ok := compileClass(p[1:])
			if !ok {
				return glob{bad: true}
			}
			piece = append(piece, t)
			p = rest
		case '\\':
			if len(p) < 2 {
				return glob{bad: true}
			}
			piece = append(piece, globToken{kind: 'l', lit: p[1]})
			p = p[2:]
		default:
			piece = append(piece, globToken{kind: 'l', lit: p[0]})
			p = p[1:]
		}
	}
	g.pieces = append(g.pieces, piece)
	return g
}

// compileClass reads a class after its "[" (path.Match's getEsc rules:
// "-" and "]" only escaped inside a range, a range's ends escaped with \),
// returning the token and what follows its "]".
func compileClass(p string) (globToken, string, bool) {
	t := globToken{kind: '['}
	if len(p) > 0 && p[0] == '^' {
		t.negated, p = true, p[1:]
	}
	for {
		if len(p) > 0 && p[0] == ']' && len(t.ranges) > 0 {
			return t, p[1:], true
		}
		lo, rest, ok := classRune(p)
		if !ok {
			return globToken{}, "", false
		}
		hi := lo
		if rest[0] == '-' {
			if hi, rest, ok = classRune(rest[1:]); !ok {
				return globToken{}, "", false
			}
		}
		t.ranges = append(t.ranges, runeRange{lo, hi})
		p = rest
	}
}

// classRune is path.Match's getEsc: one rune of a class, escaped or not,
// which must not end the pattern.
func classRune(p string) (rune, string, bool) {
	if len(p) == 0 || p[0] == '-' || p[0] == ']' {
		return 0, "", false
	}
	if p[0] == '\\' {
		p = p[1:]
		if len(p) == 0 {
			return 0, "", false
		}
	}
	r, n := utf8.DecodeRuneInString(p)
	if r == utf8.RuneError && n == 1 || len(p) == n {
		return 0, "", false
	}
	return r, p[n:], true
}

// match reports whether s matches the whole pattern. After a star every
// position from the earliest one reachable on is reachable, so each piece
// needs only the earliest end it can reach: the first piece where s
// starts, each middle one the least end of a match at or after that, the
// last one a match that ends where s does.
func (g glob) match(s string) bool {
	if g.bad {
		return false
	}
	first := g.pieces[0]
	n, ok := matchPiece(first, s)
	if !ok {
		return false
	}
	if len(g.pieces) == 1 {
		return n == len(s)
	}
	pos := n
	for _, piece := range g.pieces[1 : len(g.pieces)-1] {
		best := -1
		for i := pos; i <= len(s) && (best < 0 || i < best); i++ {
			if n, ok := matchPiece(piece, s[i:]); ok && (best < 0 || i+n < best) {
				best = i + n
			}
		}
		if best < 0 {
			return false
		}
		pos = best
	}
	last := g.pieces[len(g.pieces)-1]
	for i := pos; i <= len(s); i++ {
		if n, ok := matchPiece(last, s[i:]); ok && i+n == len(s) {
			return true
		}
	}
	return false
}

// matchPiece matches the tokens at the start of s and returns how many
// bytes they took.
func matchPiece(tokens []globToken, s string) (int, bool) {
	n := 0
	for _, t := range tokens {
		if n >= len(s) {
			return 0, false
		}
		switch t.kind {
		case 'l':
			if s[n] != t.lit {
				return 0, false
			}
			n++
		case '?':
			if s[n] == '/' {
				return 0, false
			}
			_, w := utf8.DecodeRuneInString(s[n:])
			n += w
		default:
			r, w := utf8.DecodeRuneInString(s[n:])
			in := false
			for _, rr := range t.ranges {
				if rr.lo <= r && r <= rr.hi {
					in = true
					break
				}
			}
			if in == t.negated {
				return 0, false
			}
			n += w
		}
	}
	return n, true
}
