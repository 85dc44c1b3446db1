package session

import (
	"net/http"
	"time"

	"github.com/reqcache/reqcache/config"
)

// This file decides how long a new response stays fresh, in the precedence
// of DESIGN.md: response Cache-Control (with cache_control) > request
// Cache-Control > WithExpireAfter > urls_expire_after > expire_after.

// requestExpiration is the expiration chosen before the response is known:
// WithExpireAfter, then urls_expire_after, then expire_after.
func (p *policy) requestExpiration(req *http.Request, opts *requestOptions) config.Expiration {
	if opts.expireAfter.IsSet() {
		return opts.expireAfter
	}
	if e, ok := p.urlExpiration(req); ok {
		return e
	}
	if p.ExpireAfter.IsSet() {
		return p.ExpireAfter
	}
	return config.NeverExpire
}

// freshness is the decision for one new response.
type freshness struct {
	store     bool
	expiresAt time.Time // zero: never
	// needsValidator: the response is stale at once and only worth storing
	// when it can be revalidated.
	needsValidator bool
	reason         string // why it is not stored
}

// decideFreshness applies the precedence to a response received at
// receivedAt for a request sent at requestedAt.
func (p *policy) decideFreshness(reqExp config.Expiration, reqD, respD *directives, h http.Header, requestedAt, receivedAt time.Time) freshness {
	if reqD.noStore {
		return freshness{reason: "request-no-store"}
	}
	if p.CacheControl {
		if respD.noStore {
			return freshness{reason: "no-store"}
		}
		if respD.noCache {
			return freshness{store: true, expiresAt: receivedAt, needsValidator: true}
		}
		if respD.immutable {
			return freshness{store: true}
		}
		if life, ok := explicitLifetime(h, respD, receivedAt); ok {
			exp := receivedAt.Add(life - correctedInitialAge(h, requestedAt, receivedAt))
			f := freshness{store: true, expiresAt: exp}
			if !exp.After(receivedAt) {
				f.needsValidator = true
			}
			return f
		}
	}
	if reqD.maxAge >= 0 {
		reqExp = config.After(reqD.maxAge)
	}
	exp, ok := reqExp.ExpiresAt(receivedAt)
	if !ok {
		return freshness{reason: "do_not_cache"}
	}
	f := freshness{store: true, expiresAt: exp}
	if reqExp.Kind() == config.Immediately || (!exp.IsZero() && !exp.After(receivedAt)) {
		f.needsValidator = true
	}
	return f
}
