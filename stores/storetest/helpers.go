package storetest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/reqcache/reqcache/stores"
)

// Precision is the coarsest time precision a store may keep: MongoDB
// stores milliseconds. A stored time must come back equal to what was set,
// or equal to it truncated to Precision.
const Precision = time.Millisecond

// base is a fixed instant with sub-millisecond nanoseconds, so that a store
// that truncates further than Precision is caught.
var base = time.Date(2026, time.March, 14, 15, 9, 26, 535897932, time.UTC)

// UniqueKey returns a key no other call returns, embedding name for
// readable failures. Keys from the suite are unique across runs too, so a
// backend shared between runs does not see stale entries under them.
func UniqueKey(name string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "storetest:" + name + ":" + hex.EncodeToString(b[:])
}

// NewEntry returns a realistic entry stored under key: a 200 response
// with multi-valued headers, a small binary body, a redacted request, and
// all four times set (with sub-millisecond parts, fresh for an hour,
// discarded after a day, relative to now). Each call returns new maps and
// slices.
func NewEntry(key string) *stores.Entry {
	now := time.Now().UTC()
	body := []byte("{\"key\":" + fmt.Sprintf("%q", key) + ",\"bin\":\"\x00\x01\xfe\xff\"}")
	return &stores.Entry{
		Key:        key,
		StatusCode: http.StatusOK,
		Header: http.Header{
			"Content-Type":   {"application/json; charset=utf-8"},
			"Cache-Control":  {"max-age=3600", "public"},
			"Etag":           {`"v1-` + key + `"`},
			"Last-Modified":  {"Sat, 14 Mar 2026 15:09:26 GMT"},
			"Set-Cookie":     {"c=3", "a=1", "b=2"},
			"Vary":           {"Accept-Encoding"},
			"X-Request-Id":   {"0123456789abcdef"},
			"Content-Length": {fmt.Sprint(len(body))},
		},
		Body:   body,
		Method: http.MethodGet,
		URL:    "https://api.example.com/v1/items?api_key=REDACTED&page=2",
		RequestHeader: http.Header{
			"Accept":          {"application/json"},
			"Accept-Encoding": {"gzip"},
			"Authorization":   {"REDACTED"},
		},
		RequestedAt: now.Add(-1500 * time.Microsecond),
		CreatedAt:   now,
		GeneratedAt: now.Add(-42 * time.Second),
		ExpiresAt:   now.Add(time.Hour + 123456*time.Nanosecond),
		DiscardAt:   now.Add(24*time.Hour + 654321*time.Nanosecond),
		URIKey:      "uri-of-" + key,
		Lifetime:    stores.Lifetime(len(key) % int(stores.LifetimeReset+1)), // every source, over the suite's keys
	}
}

// CloneEntry returns a deep copy of e.
func CloneEntry(e *stores.Entry) *stores.Entry {
	c := *e
	c.Header = e.Header.Clone()
	c.RequestHeader = e.RequestHeader.Clone()
	c.Body = bytes.Clone(e.Body)
	return &c
}

// TimeEqual reports whether got is want as a store may return it: equal,
// or equal to want truncated to Precision. Zero stays zero.
func TimeEqual(want, got time.Time) bool {
	if want.IsZero() || got.IsZero() {
		return want.IsZero() == got.IsZero()
	}
	return got.Equal(want) || got.Equal(want.Truncate(Precision))
}

// Compare returns nil when got round-trips want, or an error describing
// every difference. Header value order matters; header name order, nil
// versus empty maps, slices and bodies do not; times compare with
// TimeEqual.
func Compare(want, got *stores.Entry) error {
	if want == nil || got == nil {
		if want == got {
			return nil
		}
		return fmt.Errorf("want %v, got %v", want, got)
	}
	var diffs []string
	add := func(format string, args ...any) { diffs = append(diffs, fmt.Sprintf(format, args...)) }
	if got.Key != want.Key {
		add("Key = %q, want %q", got.Key, want.Key)
	}
	if got.StatusCode != want.StatusCode {
		add("StatusCode = %d, want %d", got.StatusCode, want.StatusCode)
	}
	if d := headerDiff(want.Header, got.Header); d != "" {
		add("Header: %s", d)
	}
	if !bytes.Equal(got.Body, want.Body) {
		add("Body = %s, want %s", abbrev(got.Body), abbrev(want.Body))
	}
	if got.Method != want.Method {
		add("Method = %q, want %q", got.Method, want.Method)
	}
	if got.URIKey != want.URIKey || got.Lifetime != want.Lifetime {
		add("URIKey, Lifetime = %q, %v, want %q, %v", got.URIKey, got.Lifetime, want.URIKey, want.Lifetime)
	}
	if got.URL != want.URL {
		add("URL = %q, want %q", got.URL, want.URL)
	}
	if d := headerDiff(want.RequestHeader, got.RequestHeader); d != "" {
		add("RequestHeader: %s", d)
	}
	for _, f := range []struct {
		name      string
		want, got time.Time
	}{
		{"RequestedAt", want.RequestedAt, got.RequestedAt},
		{"CreatedAt", want.CreatedAt, got.CreatedAt},
		{"ExpiresAt", want.ExpiresAt, got.ExpiresAt},
		{"DiscardAt", want.DiscardAt, got.DiscardAt},
	} {
		if !TimeEqual(f.want, f.got) {
			add("%s = %v, want %v (or truncated to %v)", f.name, f.got, f.want, Precision)
		}
	}
	// GeneratedAt is derived: a store may drop it, never change it.
	if !got.GeneratedAt.IsZero() && !TimeEqual(want.GeneratedAt, got.GeneratedAt) {
		add("GeneratedAt = %v, want %v (or zero: not kept)", got.GeneratedAt, want.GeneratedAt)
	}
	if len(diffs) == 0 {
		return nil
	}
	return fmt.Errorf("entry %q differs:\n\t%s", want.Key, strings.Join(diffs, "\n\t"))
}

func headerDiff(want, got http.Header) string {
	var diffs []string
	names := make([]string, 0, len(want)+len(got))
	for k := range want {
		names = append(names, k)
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	for _, k := range names {
		w, g := want[k], got[k]
		if len(w) == 0 && len(g) == 0 {
			continue
		}
		if !slices.Equal(w, g) {
			diffs = append(diffs, fmt.Sprintf("%s = %q, want %q", k, g, w))
		}
	}
	return strings.Join(diffs, "; ")
}

func abbrev(b []byte) string {
	if len(b) > 64 {
		return fmt.Sprintf("%q... (%d bytes)", b[:64], len(b))
	}
	return fmt.Sprintf("%q", b)
}
