package session

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// directives is a parsed Cache-Control header (RFC 9111 §5.2). Parsing is
// kept apart from deciding: this file only reads headers; freshness.go and
// policy.go decide. A duration of -1 means the directive is absent.
type directives struct {
	maxAge               time.Duration
	sMaxAge              time.Duration
	maxStale             time.Duration // request; maxStaleAny when given without a value
	minFresh             time.Duration
	staleIfError         time.Duration
	staleWhileRevalidate time.Duration
	noCache              bool
	noStore              bool
	mustRevalidate       bool
	proxyRevalidate      bool
	private              bool
	public               bool
	immutable            bool
	onlyIfCached         bool
	noTransform          bool
	// noCacheFields lists the field names of a qualified no-cache="..."
	// (treated as plain no-cache: the safe reading for a private cache).
	noCacheFields bool
}

// maxStaleAny is max-stale given without a value: any staleness is accepted.
const maxStaleAny = time.Duration(1<<63 - 1)

func absentDirectives() directives {
	return directives{maxAge: -1, sMaxAge: -1, maxStale: -1, minFresh: -1, staleIfError: -1, staleWhileRevalidate: -1}
}

// parseDirectives reads every Cache-Control field line of h. Unknown
// directives are ignored; a malformed delta-seconds makes the directive
// count as present with the safest value (RFC 9111 §4.2.1: an invalid
// max-age is stale).
func parseDirectives(h http.Header) directives {
	d := absentDirectives()
	for _, line := range h.Values("Cache-Control") {
		for line != "" {
			var part string
			part, line = splitDirective(line)
			name, value, hasValue := strings.Cut(part, "=")
			name = strings.ToLower(strings.TrimSpace(name))
			value = strings.TrimSpace(value)
			if hasValue && len(value) >= 2 && value[0] == '"' && value[len(value)-1] == '"' {
				value = value[1 : len(value)-1]
			}
			switch name {
			case "max-age":
				d.maxAge = firstOrStale(d.maxAge, deltaSeconds(value, hasValue, 0))
			case "s-maxage":
				d.sMaxAge = firstOrStale(d.sMaxAge, deltaSeconds(value, hasValue, 0))
			case "max-stale":
				if !hasValue {
					d.maxStale = maxStaleAny
				} else {
					d.maxStale = deltaSeconds(value, true, 0)
				}
			case "min-fresh":
				d.minFresh = deltaSeconds(value, hasValue, 0)
			case "stale-if-error":
				d.staleIfError = deltaSeconds(value, hasValue, -1)
			case "stale-while-revalidate":
				d.staleWhileRevalidate = deltaSeconds(value, hasValue, -1)
			case "no-cache":
				d.noCache = true
				d.noCacheFields = hasValue
			case "no-store":
				d.noStore = true
			case "must-revalidate":
				d.mustRevalidate = true
			case "proxy-revalidate":
				d.proxyRevalidate = true
			case "private":
				d.private = true
			case "public":
				d.public = true
			case "immutable":
				d.immutable = true
			case "only-if-cached":
				d.onlyIfCached = true
			case "no-transform":
				d.noTransform = true
			}
		}
	}
	return d
}

// firstOrStale combines a lifetime directive seen again with what was seen
// before (-1: nothing): the same value stands, a conflicting one makes the
// response stale (RFC 9111 §4.2.1: a cache may use the first or treat the
// response as stale; stale is the safe reading).
func firstOrStale(prev, next time.Duration) time.Duration {
	if prev < 0 || prev == next {
		return next
	}
	return 0
}

// splitDirective returns the first comma-separated directive of s and the
// rest, honouring quoted strings (no-cache="a, b").
func splitDirective(s string) (string, string) {
	inQuote := false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"':
			inQuote = !inQuote
		case '\\':
			if inQuote {
				i++
			}
		case ',':
			if !inQuote {
				return strings.TrimSpace(s[:i]), s[i+1:]
			}
		}
	}
	return strings.TrimSpace(s), ""
}

// deltaSeconds parses a delta-seconds value. Values too large for a
// time.Duration saturate (RFC 9111 §1.2.2: 2^31 at least must be accepted).
// A missing or malformed value yields invalid.
func deltaSeconds(v string, hasValue bool, invalid time.Duration) time.Duration {
	if !hasValue || v == "" {
		return invalid
	}
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return invalid
		}
	}
	n, err := strconv.ParseUint(v, 10, 63)
	if err != nil || n > uint64(maxStaleAny/time.Second) {
		return maxStaleAny / time.Second * time.Second
	}
	return time.Duration(n) * time.Second
}

// httpDateLayouts are RFC 9110 §5.6.7's three date formats.
var httpDateLayouts = []string{http.TimeFormat, time.RFC850, time.ANSIC}

// parseHTTPDate parses the three HTTP date formats strictly: a value that
// does not format back to itself (extra spaces, a one-digit hour, another
// zone) is invalid, which for Expires means already stale (RFC 9111 §5.3).
func parseHTTPDate(v string) (time.Time, bool) {
	if v == "" {
		return time.Time{}, false
	}
	for _, layout := range httpDateLayouts {
		t, err := time.Parse(layout, v)
		if err == nil && t.Format(layout) == v {
			return t, true
		}
	}
	return time.Time{}, false
}

// parseAge reads an Age header: the first valid non-negative integer, or 0.
func parseAge(h http.Header) time.Duration {
	v := h.Get("Age")
	if v == "" {
		return 0
	}
	if i := strings.IndexByte(v, ','); i >= 0 {
		v = v[:i]
	}
	d := deltaSeconds(strings.TrimSpace(v), true, 0)
	if d < 0 {
		return 0
	}
	return d
}

// pragmaNoCache reports a request's Pragma: no-cache, which counts as
// Cache-Control: no-cache when the request has no Cache-Control.
func pragmaNoCache(h http.Header) bool {
	if len(h.Values("Cache-Control")) > 0 {
		return false
	}
	for _, v := range h.Values("Pragma") {
		if strings.Contains(strings.ToLower(v), "no-cache") {
			return true
		}
	}
	return false
}
