package rules

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/reqcache/reqcache/config"
)

// The fuzz targets run their seed corpus (testdata/fuzz) with every go
// test; `go test -fuzz=FuzzX ./internal/rules` explores further. Each found crash
// is committed under testdata/fuzz and so becomes a regression test.

func FuzzCacheControl(f *testing.F) {
	for _, s := range [][5]string{
		{"max-age=60", "", "", "", ""},
		{"no-cache, max-age=0, must-revalidate", "no-cache", "", "", "3"},
		{`private, no-cache="Set-Cookie", max-age="30"`, "", "Thu, 01 Jan 1970 00:00:00 GMT", "", ""},
		{"s-maxage=99999999999999999999, stale-while-revalidate=5, stale-if-error", "", "", "", ""},
		{"max-age=-1,,, ;=, no-store", "", "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994", "-5"},
		{"immutable", "", "0", "Mon, 02 Jan 2006 15:04:05 GMT", "99999999999999999999"},
		{"MAX-AGE = 10 , max-stale, min-fresh=abc", "", "Mon, 32 Jan 2006 15:04:05 GMT", "", "1,2"},
	} {
		f.Add(s[0], s[1], s[2], s[3], s[4])
	}
	requestedAt := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	receivedAt := requestedAt.Add(time.Second)
	f.Fuzz(func(t *testing.T, cc, pragma, expires, date, age string) {
		h := http.Header{}
		for name, v := range map[string]string{"Cache-Control": cc, "Pragma": pragma, "Expires": expires, "Date": date, "Age": age} {
			if v != "" {
				h[name] = []string{v}
			}
		}
		d := Parse(h)
		if again := Parse(h); again != d {
			t.Fatalf("parsing %q twice gave %+v then %+v", cc, d, again)
		}
		for name, v := range map[string]time.Duration{
			"max-age": d.MaxAge, "s-maxage": d.SMaxAge, "max-stale": d.MaxStale, "min-fresh": d.MinFresh,
			"stale-if-error": d.StaleIfError, "stale-while-revalidate": d.StaleWhileRevalidate,
		} {
			if v < -1 {
				t.Fatalf("%s parsed from %q as %v: negative", name, cc, v)
			}
		}
		if got := ParseAge(h); got < 0 {
			t.Fatalf("Age %q parsed as %v", age, got)
		}
		req := Request{Directives: Absent()}
		set := Settings{Settings: config.Settings{CacheControl: true, SeparateCredentials: true, HeuristicFreshness: config.StaleLimit{Enabled: true}}, Codes: map[int]bool{200: true}}
		fr := NewResponse(&req, &Response{Status: 200, Header: h, RequestedAt: requestedAt, ReceivedAt: receivedAt}, &set)
		if d.NoStore && fr.Store {
			t.Fatalf("Cache-Control %q has no-store but the response would be stored", cc)
		}
		if fr.Store && d.MaxAge > 0 && !d.NoCache && !d.Immutable && h.Get("Age") == "" && !fr.ExpiresAt.After(receivedAt) {
			t.Fatalf("max-age %v from %q expires at %v, received at %v", d.MaxAge, cc, fr.ExpiresAt, receivedAt)
		}
	})
}

// The hand-written IMF-fixdate parser accepts exactly what the
// time.Parse path accepts, with the same time.
func FuzzIMFFixdateFastPath(f *testing.F) {
	for _, s := range []string{
		"Sun, 06 Nov 1994 08:49:37 GMT", "Thu, 01 Jan 1970 00:00:00 GMT", "Fri, 31 Dec 9999 23:59:59 GMT",
		"Mon, 29 Feb 2021 00:00:00 GMT", "Tue, 29 Feb 2024 00:00:00 GMT", "Wed, 31 Apr 2026 10:00:00 GMT",
		"Sun, 06 Nov 1994 24:00:00 GMT", "Sun, 06 Nov 1994 23:60:00 GMT", "Sun, 06 Nov 1994 23:59:60 GMT",
		"Sun, 00 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 0000 08:49:37 GMT", "Xyz, 06 Nov 1994 08:49:37 GMT",
		"Sun, 06 Nox 1994 08:49:37 GMT", "Sun, 06 Nov 1994 08:49:3x GMT", "Sun, +6 Nov 1994 08:49:37 GMT",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		v = canonicalDateCase(v) // as ParseHTTPDate does before either
		fast, fastOK := parseIMFFixdate(v)
		slow, slowOK := parseHTTPDateLayouts(v)
		if fastOK && (!slowOK || !fast.Equal(slow) || fast.Location() != slow.Location()) {
			t.Fatalf("%q: fast path %v (%v), time.Parse %v (%v)", v, fast, fastOK, slow, slowOK)
		}
		if !fastOK && slowOK && len(v) == 29 && strings.HasSuffix(v, " GMT") && v[3] == ',' {
			t.Fatalf("%q: time.Parse accepts an IMF-fixdate the fast path refuses", v)
		}
	})
}

func FuzzHTTPDate(f *testing.F) {
	for _, s := range []string{
		"Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994",
		"Sun, 06 Nov 1994 08:49:37 UTC", "Sun, 6 Nov 1994 8:49:37 GMT", "0", "-1", "", "Thu, 01 Jan 1970 00:00:00 GMT",
		"Fri, 31 Dec 9999 23:59:59 GMT", "Mon, 29 Feb 2021 00:00:00 GMT",
		"SUN, 06 NOV 1994 08:49:37 gmt", "sunday, 06-nov-94 08:49:37 GMT", "sun nov  6 08:49:37 1994",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		tm, ok := ParseHTTPDate(v)
		if !ok {
			if !tm.IsZero() {
				t.Fatalf("invalid %q gave a time %v", v, tm)
			}
			return
		}
		// Strict parsing: an accepted date is exactly one of the formats,
		// so formatting it back gives what was read, in GMT.
		back, ok := ParseHTTPDate(tm.Format(http.TimeFormat))
		if !ok || !back.Equal(tm) {
			t.Fatalf("%q parsed as %v, which does not round-trip (%v, %v)", v, tm, back, ok)
		}
		if _, off := tm.Zone(); off != 0 {
			t.Fatalf("%q parsed with a %d s offset", v, off)
		}
	})
}

// A stored entry's age from its GeneratedAt is the age read from its
// header, at every instant, whatever its Date and Age say (far past, far
// future, huge, malformed) and however long the request took.
func FuzzStoredAge(f *testing.F) {
	f.Add("30", int64(-60), int64(2_000_000_000), int64(3_600_000_000_000))
	f.Add("99999999999999999999", int64(0), int64(1), int64(0))
	f.Add("", int64(1<<40), int64(0), int64(1<<62))
	f.Add("-5", int64(-1<<40), int64(-7), int64(-1))
	f.Fuzz(func(t *testing.T, age string, dateOffset, delay, later int64) {
		received := time.Date(2026, 12, 7, 10, 0, 0, 123456789, time.UTC)
		h := http.Header{"Age": {age}}
		if date := received.Add(time.Duration(dateOffset) * time.Second); date.Year() > 0 && date.Year() < 10000 {
			h.Set("Date", date.Format(http.TimeFormat))
		}
		requested := received.Add(-time.Duration(delay))
		now := received.Add(time.Duration(later))
		st := Stored{Header: h, RequestedAt: requested, CreatedAt: received, GeneratedAt: GeneratedAt(h, requested, received)}
		if got, want := st.Age(now), CurrentAge(h, requested, received, now); got != want {
			t.Fatalf("Age %q, Date %q, requested %v before, now %v after: from GeneratedAt %v, from the header %v", age, h.Get("Date"), time.Duration(delay), time.Duration(later), got, want)
		}
	})
}
