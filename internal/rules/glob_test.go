package rules

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/reqcache/reqcache/config"
)

func TestGlob(t *testing.T) {
	for _, c := range []struct {
		pattern, s string
		want       bool
	}{
		{"api.example.com/v1*", "api.example.com/v1/items?id=1", true},
		{"api.example.com/v1*", "api.example.com/v2", false},
		{"*.example.com/static/*.css*", "www.example.com/static/a/b.css", true}, // * crosses "/"
		{"*.example.com/static/*.css*", "www.example.com/static/a/b.js", false},
		{"a?c*", "abc", true},
		{"a?c*", "a/c", false}, // ? is not "/"
		{"a[bx]c", "axc", true},
		{"a[^bx]c", "a/c", true}, // a class may be "/"
		{"a[^bx]c", "abc", false},
		{"a[a-c]d", "abd", true},
		{`a\*b`, "a*b", true}, // an escaped star is a star
		{`a\*b`, "axb", false},
		{"a[*]b", "a*b", true}, // and so is one in a class
		{"**", "", true},
		{"a*b*c", "abc", true},
		{"a*b*c", "aXbYc", true},
		{"a*b*c", "aXcYb", false},
		{"a*", "b", false},
		{"é?*", "éü/x", true},   // ? takes a whole rune
		{"[", "[", false},       // not a pattern: matches nothing
		{"a\\", "a\\", false},   // nor is a trailing escape
		{"ab", "abc", false},    // no star: the whole string
		{"*ab", "xxab", true},   // the last piece ends where the string does
		{"*ab", "xxabx", false}, //
	} {
		if got := compileGlob(c.pattern).match(c.s); got != c.want {
			t.Errorf("%q against %q: %v, want %v", c.pattern, c.s, got, c.want)
		}
	}
}

// Stars cost no more than a pass over the URL each: three of them
// against a 10,000-character URL that does not match (split by split, as
// the first version matched, this never ended: 3 s at 400 characters).
func TestGlobStaysLinearInStars(t *testing.T) {
	g := compileGlob(globOf("example.com/*/*/*/x"))
	s := "example.com/" + strings.Repeat("a/", 5000) + "nomatch"
	if g.match(s) {
		t.Fatal("matched")
	}
	if !g.match("example.com/" + strings.Repeat("a/", 5000) + "x") {
		t.Fatal("did not match")
	}
}

// globRegexp is a reference: the same pattern as a regular expression.
func globRegexp(pattern string) (*regexp.Regexp, bool) {
	var b strings.Builder
	b.WriteString(`^(?s:`)
	for p := pattern; len(p) > 0; {
		switch p[0] {
		case '*':
			b.WriteString(`.*`)
			p = p[1:]
		case '?':
			b.WriteString(`[^/]`)
			p = p[1:]
		case '[':
			t, rest, ok := compileClass(p[1:])
			if !ok {
				return nil, false
			}
			b.WriteString("[")
			if t.negated {
				b.WriteString("^")
			}
			for _, r := range t.ranges {
				fmt.Fprintf(&b, `\x{%x}-\x{%x}`, r.lo, r.hi)
			}
			b.WriteString("]")
			p = rest
		case '\\':
			if len(p) < 2 {
				return nil, false
			}
			fmt.Fprintf(&b, `\x{%x}`, p[1])
			p = p[2:]
		default:
			fmt.Fprintf(&b, `\x{%x}`, p[0])
			p = p[1:]
		}
	}
	b.WriteString(`)$`)
	re, err := regexp.Compile(b.String())
	return re, err == nil
}

// The glob agrees with its translation into a regular expression, for
// patterns and strings in ASCII (a literal is a byte, a class a rune: on
// ASCII they agree).
func FuzzGlob(f *testing.F) {
	for _, c := range [][2]string{{"a*b*c", "aXbYc"}, {"*.example.com/*.css*", "w.example.com/a/b.css"}, {"a?[^b]*", "a/b"}, {`x\*[a-c]*`, "x*bzz"}} {
		f.Add(c[0], c[1])
	}
	f.Fuzz(func(t *testing.T, pattern, s string) {
		if !isASCII(pattern) || !isASCII(s) || config.ValidatePattern(pattern) != nil {
			return
		}
		re, ok := globRegexp(pattern)
		if !ok {
			return
		}
		g := compileGlob(pattern)
		if g.bad {
			t.Fatalf("%q: valid for config, bad for the glob", pattern)
		}
		if got, want := g.match(s), re.MatchString(s); got != want {
			t.Fatalf("%q against %q: %v, the regular expression %v says %v", pattern, s, got, re, want)
		}
	})
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// BenchmarkURLRules: a request against 20 patterns, none of which matches
// (every request, a hit too, is matched before the lookup).
func BenchmarkURLRules(b *testing.B) {
	var list []config.URLExpiration
	for i := 0; i < 20; i++ {
		list = append(list, config.URLExpiration{Pattern: fmt.Sprintf("api%d.example.com/v1/*/items", i), ExpireAfter: config.NeverExpire})
	}
	rs := CompileURLRules(list)
	u, _ := url.Parse("https://127.0.0.1:8080/v1/users/42/items?id=42&page=1")
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := rs.Expiration(u); ok {
			b.Fatal("matched")
		}
	}
}
