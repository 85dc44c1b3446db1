package session

import (
	"net/http"

	"github.com/reqcache/reqcache/config"
)

// This file chooses the expiration of a request before its response is
// known: WithExpireAfter > urls_expire_after > expire_after. The response's
// own headers and the request's Cache-Control come after
// (rules.NewResponse).

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
