package rules

import (
	"net/http"
	"testing"
)

// RFC 9110 §14.1.2: one byte range of a representation of 10 bytes.
func TestByteRange(t *testing.T) {
	for _, tc := range []struct {
		v          string
		start, end int64
		ok         bool
	}{
		{"bytes=0-4", 0, 4, true},
		{"bytes=5-", 5, 9, true},
		{"bytes=-3", 7, 9, true},
		{"bytes=-30", 0, 9, true},
		{"bytes=8-100", 8, 9, true},
		{" bytes=2-3 ", 2, 3, true},
		{"bytes=0-1,4-5", 0, 0, false}, // several ranges
		{"bytes=10-", 0, 0, false},     // unsatisfiable
		{"bytes=4-2", 0, 0, false},
		{"bytes=-0", 0, 0, false},
		{"items=0-1", 0, 0, false},
		{"bytes=x-1", 0, 0, false},
	} {
		t.Run(tc.v, func(t *testing.T) {
			start, end, ok := ByteRange(tc.v, 10)
			if ok != tc.ok || ok && (start != tc.start || end != tc.end) {
				t.Fatalf("ByteRange(%q) = %d, %d, %v; want %d, %d, %v", tc.v, start, end, ok, tc.start, tc.end, tc.ok)
			}
		})
	}
}

// RFC 9110 §14.4: the range a 206 holds, with the complete length known.
func TestContentRange(t *testing.T) {
	for _, tc := range []struct {
		v                     string
		first, last, complete int64
		ok                    bool
	}{
		{"bytes 0-4/10", 0, 4, 10, true},
		{"bytes 9-9/10", 9, 9, 10, true},
		{"bytes 0-4/*", 0, 0, 0, false}, // unknown length: parts cannot be joined
		{"bytes 5-4/10", 0, 0, 0, false},
		{"bytes 0-10/10", 0, 0, 0, false},
		{"bytes */10", 0, 0, 0, false},
		{"items 0-4/10", 0, 0, 0, false},
	} {
		t.Run(tc.v, func(t *testing.T) {
			first, last, complete, ok := ContentRange(tc.v)
			if ok != tc.ok || ok && (first != tc.first || last != tc.last || complete != tc.complete) {
				t.Fatalf("ContentRange(%q) = %d, %d, %d, %v", tc.v, first, last, complete, ok)
			}
		})
	}
}

// RFC 9110 §8.8.1: only a strong entity tag lets parts be joined.
func TestStrongETag(t *testing.T) {
	for v, ok := range map[string]bool{`"v1"`: true, `W/"v1"`: false, ``: false, `v1`: false, `"`: false} {
		h := http.Header{}
		if v != "" {
			h.Set("ETag", v)
		}
		if _, got := StrongETag(h); got != ok {
			t.Errorf("StrongETag(%q) = %v, want %v", v, got, ok)
		}
	}
}
