package cachekey

import (
	"net/http"
	"slices"
	"testing"

	"github.com/reqcache/reqcache/config"
)

// RFC 9111 §4.1: forms of a selecting header that its syntax makes
// equivalent select one variant; forms that could mean another do not.
func TestVaryNormalisation(t *testing.T) {
	k := New(config.DefaultIgnoredParameters(), false, nil)
	vary := http.Header{"Vary": {"Accept-Language, Accept-Encoding, Foo, Accept"}}
	for _, tc := range []struct {
		name        string
		stored, req http.Header
		match       bool
	}{
		{"fields combined", http.Header{"Foo": {"1, 2"}}, http.Header{"Foo": {"1", "2"}}, true},
		{"whitespace", http.Header{"Foo": {"1,2"}}, http.Header{"Foo": {" 1 ,  2 "}}, true},
		{"unknown header: order counts", http.Header{"Foo": {"1, 2"}}, http.Header{"Foo": {"2, 1"}}, false},
		{"unknown header: case counts", http.Header{"Foo": {"a"}}, http.Header{"Foo": {"A"}}, false},
		{"language order of equal weights", http.Header{"Accept-Language": {"en, de"}}, http.Header{"Accept-Language": {"de, en"}}, true},
		{"language case", http.Header{"Accept-Language": {"en, de"}}, http.Header{"Accept-Language": {"eN, De"}}, true},
		{"language whitespace", http.Header{"Accept-Language": {"en, de"}}, http.Header{"Accept-Language": {" en ,   de"}}, true},
		{"q=1 is the default weight", http.Header{"Accept-Language": {"en;q=1.0, de"}}, http.Header{"Accept-Language": {"de, en"}}, true},
		{"weights written differently", http.Header{"Accept-Language": {"de, en;q=0.5"}}, http.Header{"Accept-Language": {"en; Q=0.500,de"}}, true},
		{"different weights differ", http.Header{"Accept-Language": {"en, de;q=0.5"}}, http.Header{"Accept-Language": {"de, en;q=0.5"}}, false},
		{"a different language differs", http.Header{"Accept-Language": {"en"}}, http.Header{"Accept-Language": {"en-GB"}}, false},
		{"duplicates", http.Header{"Accept-Language": {"en, en"}}, http.Header{"Accept-Language": {"en"}}, true},
		{"encodings in any order and case", http.Header{"Accept-Encoding": {"gzip, br"}}, http.Header{"Accept-Encoding": {"BR,gzip"}}, true},
		{"an unparsable weight is compared as written", http.Header{"Accept-Language": {"en;q=2, de"}}, http.Header{"Accept-Language": {"de, en;q=2"}}, false},
		{"Accept keeps its order (parameters may be case-sensitive)", http.Header{"Accept": {"text/html, application/json"}}, http.Header{"Accept": {"application/json, text/html"}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := k.VaryMatches(vary, tc.stored, tc.req); got != tc.match {
				t.Fatalf("VaryMatches = %v, want %v", got, tc.match)
			}
			names, _ := VaryNames(vary)
			same := k.VariantKey("p", names, tc.stored) == k.VariantKey("p", names, tc.req)
			if same != tc.match {
				t.Fatalf("variant keys equal = %v, want %v", same, tc.match)
			}
		})
	}
}

func TestParseWeight(t *testing.T) {
	for v, want := range map[string]int{"0": 0, "0.5": 500, "0.05": 50, "0.123": 123, "1": 1000, "1.000": 1000, "1.": 1000, "0.": 0} {
		if got, ok := parseWeight(v); !ok || got != want {
			t.Errorf("parseWeight(%q) = %d, %v; want %d", v, got, ok, want)
		}
	}
	for _, v := range []string{"", "2", "1.5", "0.1234", "-0", "0.x", ".5"} {
		if _, ok := parseWeight(v); ok {
			t.Errorf("parseWeight(%q) accepted", v)
		}
	}
}

func TestTopLanguage(t *testing.T) {
	for v, want := range map[string]string{
		"fr;q=0.5, de;q=1.0": "de",
		"DE-ch, en;q=0.9":    "de-ch",
		"en, de":             "", // a tie
		"en, en;q=1":         "en",
		"*":                  "",
		"en;q=0":             "",
		"en;level=1":         "",
		"":                   "",
	} {
		h := http.Header{}
		if v != "" {
			h.Set("Accept-Language", v)
		}
		if got := TopLanguage(h); got != want {
			t.Errorf("TopLanguage(%q) = %q, want %q", v, got, want)
		}
	}
}

func TestVaryNamesOneName(t *testing.T) {
	for _, c := range []struct {
		vary []string
		want []string
	}{
		{[]string{"accept-encoding"}, []string{"Accept-Encoding"}},
		{[]string{"Accept-Encoding, accept-encoding"}, []string{"Accept-Encoding"}},
		{[]string{"X-Tenant"}, []string{"X-Tenant"}},
		{[]string{"Origin", "Accept, origin"}, []string{"Accept", "Origin"}},
		{[]string{"B, A, B"}, []string{"A", "B"}},
		{[]string{" , "}, nil},
	} {
		got, star := VaryNames(http.Header{"Vary": c.vary})
		if star || !slices.Equal(got, c.want) {
			t.Errorf("VaryNames(%q) = %q, %v; want %q", c.vary, got, star, c.want)
		}
	}
	h := http.Header{"Vary": {"Accept-Encoding"}}
	if n := testing.AllocsPerRun(100, func() { VaryNames(h) }); n != 0 {
		t.Errorf("Vary: Accept-Encoding costs %v allocations, want 0", n)
	}
}
