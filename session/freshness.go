package session

import (
	"net/http"
	"time"

	"github.com/reqcache/reqcache/stores"
)

// This file is RFC 9111 §4.2: how long a response is fresh and how old a
// stored one is. It decides nothing about storing; expiration.go does.

// correctedInitialAge is RFC 9111 §4.2.3's corrected_initial_age: how old the
// response already was when it arrived.
func correctedInitialAge(h http.Header, requestedAt, receivedAt time.Time) time.Duration {
	age := parseAge(h)
	var apparent time.Duration
	if date, ok := parseHTTPDate(h.Get("Date")); ok {
		apparent = max(0, receivedAt.Sub(date))
	}
	delay := time.Duration(0)
	if !requestedAt.IsZero() {
		delay = max(0, receivedAt.Sub(requestedAt))
	}
	return max(apparent, addAges(age, delay))
}

// currentAge is the age of a stored entry at now (RFC 9111 §4.2.3).
func currentAge(e *stores.Entry, now time.Time) time.Duration {
	return addAges(correctedInitialAge(e.Header, e.RequestedAt, e.CreatedAt), max(0, now.Sub(e.CreatedAt)))
}

// addAges adds two non-negative ages, saturating: an Age header near the
// largest duration must stay huge (stale), not wrap to a negative age
// (fresh).
func addAges(a, b time.Duration) time.Duration {
	if a > maxStaleAny-b {
		return maxStaleAny
	}
	return a + b
}

// explicitLifetime returns the freshness lifetime the response's own
// headers give (max-age, else Expires minus Date), and whether they give
// one. An invalid Expires (or "0") is a lifetime of zero: already stale.
func explicitLifetime(h http.Header, d *directives, receivedAt time.Time) (time.Duration, bool) {
	if d.maxAge >= 0 {
		return d.maxAge, true
	}
	if vs := h.Values("Expires"); len(vs) > 0 {
		exp, ok := parseHTTPDate(vs[0])
		if !ok || len(vs) > 1 { // several Expires lines are invalid too
			return 0, true
		}
		base := receivedAt
		if date, ok := parseHTTPDate(h.Get("Date")); ok {
			base = date
		}
		return max(0, exp.Sub(base)), true
	}
	return 0, false
}

// hasValidator reports whether a stored response can be revalidated.
func hasValidator(h http.Header) bool {
	return h.Get("ETag") != "" || h.Get("Last-Modified") != ""
}

// ttl is the time left until e expires (negative when stale); ok is false
// for entries that never expire.
func ttl(e *stores.Entry, now time.Time) (time.Duration, bool) {
	if e.ExpiresAt.IsZero() {
		return 0, false
	}
	return e.ExpiresAt.Sub(now), true
}
