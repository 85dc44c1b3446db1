package session

import (
	"net/http"

	"github.com/reqcache/reqcache/config"
)

// This file chooses the expiration of a request before its response is
// known: WithExpireAfter > urls_expire_after > expire_after. The response's
// own headers, the request's Cache-Control and heuristic freshness come
// after (rules.NewResponse).

// requestExpiration is the expiration chosen before the response is known:
// WithExpireAfter, then urls_expire_after, then expire_after. own reports
// one of the first two: the request's own, which heuristic freshness
// yields to.
func (p *policy) requestExpiration(req *http.Request, opts *requestOptions) (exp config.Expiration, own bool) {
	if opts.expireAfter.IsSet() {
		return opts.expireAfter, true
	}
	if e, ok := p.urlExpiration(req); ok {
		return e, true
	}
	if p.ExpireAfter.IsSet() {
		return p.ExpireAfter, false
	}
	return config.NeverExpire, false
}
