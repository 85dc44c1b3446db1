package rules

import (
	"net/http"
	"time"

	"github.com/reqcache/reqcache/config"
)

// This file decides whether a new response may be stored and until when,
// in the precedence of DESIGN.md: response Cache-Control (with
// cache_control) > request Cache-Control > WithExpireAfter >
// urls_expire_after > expire_after. The last three come as reqExp, the
// expiration chosen before the response was known.

// Freshness is the decision for one new response.
type Freshness struct {
	Store     bool
	ExpiresAt time.Time // zero: never
	// NeedsValidator: the response is stale at once and only worth
	// storing when it can be revalidated.
	NeedsValidator bool
	Reason         string // why it is not stored
}

// NewResponse decides for a response with header h (and respD its parsed
// Cache-Control, Absent() when cache_control is off) received at
// receivedAt for a request sent at requestedAt with directives reqD.
func NewResponse(cacheControl bool, reqExp config.Expiration, reqD, respD *Directives, h http.Header, requestedAt, receivedAt time.Time) Freshness {
	if reqD.NoStore {
		return Freshness{Reason: "request-no-store"}
	}
	if cacheControl {
		if respD.NoStore {
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
