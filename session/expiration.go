package session

import (
	"net/http"

	"github.com/reqcache/reqcache/config"
	"github.com/reqcache/reqcache/stores"
)

// This file chooses the expiration of a request before its response is
// known: WithExpireAfter > urls_expire_after > expire_after. The response's
// own headers, the request's Cache-Control and heuristic freshness come
// after (rules.NewResponse).

// requestExpiration is the expiration chosen before the response is known:
// WithExpireAfter, then urls_expire_after, then expire_after, and the
// setting it came from. written reports a lifetime the user wrote, which
// heuristic freshness yields to: any of the first two, and an expire_after
// that is a duration or a time. expire_after "never" (the default) and
// "immediately" say what becomes of a response with no lifetime at all, so
// the guess comes first: with "immediately", a cache behaves as RFC 9111
// describes.
func (p *policy) requestExpiration(req *http.Request, expireAfter config.Expiration) (exp config.Expiration, written bool, from stores.Lifetime) {
	if expireAfter.IsSet() {
		return expireAfter, true, stores.LifetimeOption
	}
	if e, ok := p.urlExpiration(req); ok {
		return e, true, stores.LifetimeURLRule
	}
	if p.ExpireAfter.IsSet() {
		k := p.ExpireAfter.Kind()
		return p.ExpireAfter, k == config.AfterDuration || k == config.AtTime, stores.LifetimeExpireAfter
	}
	return config.NeverExpire, false, stores.LifetimeExpireAfter
}
