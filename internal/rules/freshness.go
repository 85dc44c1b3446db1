package rules

import (
	"net/http"
	"time"
)

// This file is RFC 9111 §4.2: how long a response is fresh and how old a
// stored one is. It decides nothing about storing; store.go does.

// CorrectedInitialAge is RFC 9111 §4.2.3's corrected_initial_age: how old the
// response already was when it arrived.
func CorrectedInitialAge(h http.Header, requestedAt, receivedAt time.Time) time.Duration {
	age := ParseAge(h)
	var apparent time.Duration
	if date, ok := ParseHTTPDate(h.Get("Date")); ok {
		apparent = max(0, receivedAt.Sub(date))
	}
	delay := time.Duration(0)
	if !requestedAt.IsZero() {
		delay = max(0, receivedAt.Sub(requestedAt))
	}
	return max(apparent, addAges(age, delay))
}

// CurrentAge is the age at now of a response with header h, requested at
// requestedAt and stored at createdAt (RFC 9111 §4.2.3).
func CurrentAge(h http.Header, requestedAt, createdAt, now time.Time) time.Duration {
	return addAges(CorrectedInitialAge(h, requestedAt, createdAt), max(0, now.Sub(createdAt)))
}

// GeneratedAt is when a response with header h, requested at requestedAt
// and received at receivedAt, was generated as far as a cache can tell:
// receivedAt less its corrected initial age. A stored entry keeps it
// (stores.Entry.GeneratedAt), so that the Age of every answer made from it
// needs no parsing of its Date and Age (Stored.Age). Zero when receivedAt
// is.
func GeneratedAt(h http.Header, requestedAt, receivedAt time.Time) time.Time {
	if receivedAt.IsZero() {
		return time.Time{}
	}
	return receivedAt.Add(-CorrectedInitialAge(h, requestedAt, receivedAt))
}

// Age is s's current age at now (RFC 9111 §4.2.3): CurrentAge, from
// s.GeneratedAt when it is known.
func (s *Stored) Age(now time.Time) time.Duration {
	if s.GeneratedAt.IsZero() || s.CreatedAt.IsZero() {
		return CurrentAge(s.Header, s.RequestedAt, s.CreatedAt, now)
	}
	return addAges(max(0, s.CreatedAt.Sub(s.GeneratedAt)), max(0, now.Sub(s.CreatedAt)))
}

// addAges adds two non-negative ages, saturating: an Age header near the
// largest duration must stay huge (stale), not wrap to a negative age
// (fresh).
func addAges(a, b time.Duration) time.Duration {
	if a > MaxStaleAny-b {
		return MaxStaleAny
	}
	return a + b
}

// ExplicitLifetime returns the freshness lifetime the response's own
// headers give (max-age, else Expires minus Date), and whether they give
// one. An invalid Expires (or "0") is a lifetime of zero: already stale.
func ExplicitLifetime(h http.Header, d *Directives, receivedAt time.Time) (time.Duration, bool) {
	if d.MaxAge >= 0 {
		return d.MaxAge, true
	}
	if vs := h.Values("Expires"); len(vs) > 0 {
		exp, ok := ParseHTTPDate(vs[0])
		if !ok || len(vs) > 1 { // several Expires lines are invalid too
			return 0, true
		}
		base := receivedAt
		if date, ok := ParseHTTPDate(h.Get("Date")); ok {
			base = date
		}
		return max(0, exp.Sub(base)), true
	}
	return 0, false
}

// HasValidator reports whether a stored response can be revalidated.
func HasValidator(h http.Header) bool {
	return h.Get("ETag") != "" || h.Get("Last-Modified") != ""
}

// SecondsFloor is d in whole seconds, rounded down (a stale entry's -0.5 s
// of freshness left is -1, never 0).
func SecondsFloor(d time.Duration) int64 {
	s := int64(d / time.Second)
	if d < 0 && d%time.Second != 0 {
		s--
	}
	return s
}
