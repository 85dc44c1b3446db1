package session

import (
	"net/http"
	"strings"

	"github.com/reqcache/reqcache/config"
	"github.com/reqcache/reqcache/stores"
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

// heuristic is heuristic_freshness as it applies to x: off without
// cache_control or when the request has an expiration of its own.
func (x *exchange) heuristic() config.StaleLimit {
	if !x.p.CacheControl || x.ownExp {
		return config.StaleLimit{}
	}
	return x.p.HeuristicFreshness
}

// heuristicEntry reports whether e's lifetime was a heuristic: as
// rules.NewResponse decided when it was stored, under today's settings. It
// runs on every such hit, so it looks for a max-age without parsing the
// directives (a max-age inside a quoted string would only hide the
// Cache-Status detail).
func (x *exchange) heuristicEntry(e *stores.Entry) bool {
	if e.ExpiresAt.IsZero() || len(e.Header["Last-Modified"]) == 0 || len(e.Header["Expires"]) > 0 || !x.heuristic().Enabled {
		return false
	}
	for _, v := range e.Header["Cache-Control"] {
		if strings.Contains(strings.ToLower(v), "max-age") {
			return false
		}
	}
	return true
}
