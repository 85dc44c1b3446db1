package rules

import (
	"net/http"
	"time"

	"github.com/reqcache/reqcache/config"
)

// This file decides whether a new response may be stored and until when,
// in the precedence of DESIGN.md: response Cache-Control (with
// cache_control) > request Cache-Control > WithExpireAfter >
// urls_expire_after > heuristic freshness (with cache_control) >
// expire_after. reqExp is the expiration chosen before the response was
// known; heuristic is off when it came from WithExpireAfter or
// urls_expire_after.

// Freshness is the decision for one new response.
type Freshness struct {
	Store     bool
	ExpiresAt time.Time // zero: never
	// NeedsValidator: the response is stale at once and only worth
	// storing when it can be revalidated.
	NeedsValidator bool
	Reason         string // why it is not stored
	// Heuristic: the lifetime is a heuristic (§4.2.2), not the
	// response's own.
	Heuristic bool
}

// NewResponse decides for a response with header h (and respD its parsed
// Cache-Control, Absent() when cache_control is off) received at
// receivedAt for a request sent at requestedAt with directives reqD.
func NewResponse(cacheControl bool, status int, reqExp config.Expiration, heuristic config.StaleLimit, reqD, respD *Directives, h http.Header, requestedAt, receivedAt time.Time) Freshness {
	if reqD.NoStore {
		return Freshness{Reason: "request-no-store"}
	}
	if cacheControl {
		// §5.2.2.3 must-understand: a cache that knows the status code's
		// caching rules may store the response in spite of no-store; one
		// that does not, must not.
		mustUnderstand := respD.MustUnderstand && understoodStatus(status)
		if respD.MustUnderstand && !mustUnderstand {
			return Freshness{Reason: "must-understand"}
		}
		if respD.NoStore && !mustUnderstand {
			return Freshness{Reason: "no-store"}
		}
		if respD.NoCache {
			return Freshness{Store: true, ExpiresAt: receivedAt, NeedsValidator: true}
		}
		if respD.Immutable {
			return Freshness{Store: true}
		}
		if life, ok := ExplicitLifetime(h, respD, receivedAt); ok {
			exp := receivedAt.Add(life - CorrectedInitialAge(h, requestedAt, receivedAt))
			f := Freshness{Store: true, ExpiresAt: exp}
			if !exp.After(receivedAt) {
				f.NeedsValidator = true
			}
			return f
		}
		if heuristic.Enabled && reqD.MaxAge < 0 {
			if life, ok := HeuristicLifetime(status, h, receivedAt, heuristic.Max); ok {
				exp := receivedAt.Add(life - CorrectedInitialAge(h, requestedAt, receivedAt))
				return Freshness{Store: true, ExpiresAt: exp, Heuristic: true, NeedsValidator: !exp.After(receivedAt)}
			}
		}
	}
	if reqD.MaxAge >= 0 {
		reqExp = config.After(reqD.MaxAge)
	}
	exp, ok := reqExp.ExpiresAt(receivedAt)
	if !ok {
		return Freshness{Reason: "do_not_cache"}
	}
	f := Freshness{Store: true, ExpiresAt: exp}
	if reqExp.Kind() == config.Immediately || (!exp.IsZero() && !exp.After(receivedAt)) {
		f.NeedsValidator = true
	}
	return f
}

// understoodStatus reports the status codes whose caching rules this cache
// implements (RFC 9110 §15.1's heuristically cacheable ones, and 302, 303
// and 307 whose freshness comes from their headers alone).
func understoodStatus(status int) bool {
	switch status {
	case 200, 203, 204, 206, 300, 301, 302, 303, 307, 308, 404, 405, 410, 414, 501:
		return true
	}
	return false
}

// HeuristicLifetime is §4.2.2's heuristic freshness lifetime: for a
// heuristically cacheable status and a Last-Modified in the past, 10% of
// the time since then (as of Date), at most limit (0: no bound).
func HeuristicLifetime(status int, h http.Header, receivedAt time.Time, limit time.Duration) (time.Duration, bool) {
	if !heuristicallyCacheable(status) {
		return 0, false
	}
	lm, ok := ParseHTTPDate(h.Get("Last-Modified"))
	if !ok {
		return 0, false
	}
	base := receivedAt
	if date, ok := ParseHTTPDate(h.Get("Date")); ok {
		base = date
	}
	age := base.Sub(lm)
	if age <= 0 {
		return 0, false
	}
	life := age / 10
	if limit > 0 && life > limit {
		life = limit
	}
	return life, true
}

// heuristicallyCacheable reports RFC 9110 §15.1's heuristically cacheable
// status codes.
func heuristicallyCacheable(status int) bool {
	switch status {
	case 200, 203, 204, 206, 300, 301, 308, 404, 405, 410, 414, 501:
		return true
	}
	return false
}
