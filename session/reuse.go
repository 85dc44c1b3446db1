package session

import (
	"net/http"

	"github.com/reqcache/reqcache/internal/cachekey"
	"github.com/reqcache/reqcache/internal/rules"
	"github.com/reqcache/reqcache/stores"
)

// This file is the one door out: every answer the cache gives without a
// new origin exchange for the request passes here — an entry lookup found
// (plain, a variant, the language's variant, a redirect's final response,
// a part), the response another caller's trip brought (a coalesced or
// late-joined flight), an entry a 304 or another process of the fleet
// vouched for, a stale entry after the origin failed. What passes is
// answered by serve (serve.go) or, for a shared stream, respond
// (fetch.go); both give it its Age, Cache-Status and Info.
//
// The decision has two parts. selects: does the stored response answer
// this request at all, beyond its key (which already holds method, URL,
// Host, body, matched headers and credentials)? The headers it varies on,
// or its language. decide: given the request's directives and options and
// the response's freshness, serve it, serve it stale, revalidate it, fetch,
// or answer 504 (internal/rules).

// selects reports whether a stored response (e) answers x's request by
// what selects a response beyond its key: its content coding (a request
// without Accept-Encoding, an http.Get, never gets a coded body stored for
// a caller that asked for gzip itself: cachekey.AcceptsCoding); the
// headers it varies on (RFC 9111 §4.1), compared with the request that
// stored it, or, when lookup found it by language, its one
// Content-Language.
func (x *exchange) selects(e *stores.Entry, byLanguage bool) bool {
	return x.selectsBy(e.Header, e.RequestHeader, byLanguage)
}

func (x *exchange) selectsBy(h, storedRequest http.Header, byLanguage bool) bool {
	if !cachekey.AcceptsCoding(h, x.req.Header) {
		return false
	}
	if len(h["Vary"]) == 0 {
		return true
	}
	if byLanguage {
		lang := languageOf(h)
		return lang != "" && lang == cachekey.TopLanguage(x.req.Header)
	}
	return x.p.keys.VaryMatches(h, storedRequest, x.req.Header)
}

// filtered applies the filter (requests-cache's filter_fn) retroactively:
// an entry it now rejects is deleted and not used.
func (s *Session) filtered(x *exchange, f found) found {
	if s.filter == nil || f.e == nil {
		return f
	}
	resp := responseFrom(cloneEntry(f.e), x.req, nil)
	if s.filter(resp) {
		return f
	}
	if !x.p.ReadOnly {
		s.deleteKeys(x.req.Context(), f.key)
	}
	f.e, f.key, f.lent, f.byLanguage, f.viaRedirect = nil, "", false, false, false
	return f
}

// decide is the one reuse decision for x and stored entry e (nil: none):
// serve it, fresh or stale, revalidate it, fetch, or answer 504. failed
// asks it after x's trip to the origin failed: may e answer instead
// (stale-if-error)?
func (s *Session) decide(x *exchange, e *stores.Entry, failed bool) rules.Decision {
	rq := x.rq
	rq.OriginFailed = failed
	if e == nil {
		return rules.Decide(s.now(), nil, &rq, x.p.rules)
	}
	st := storedOf(e)
	return rules.Decide(s.now(), &st, &rq, x.p.rules)
}

// storedOf is what the rules read of stored entry e.
func storedOf(e *stores.Entry) rules.Stored {
	return rules.Stored{Header: e.Header, RequestedAt: e.RequestedAt, CreatedAt: e.CreatedAt, ExpiresAt: e.ExpiresAt, GeneratedAt: e.GeneratedAt}
}

// demandsTrip reports a request that no trip begun before it may answer:
// it asks for the origin itself (ForceRefresh, Refresh, a request
// no-cache, always_revalidate). It never joins another caller's trip.
func (x *exchange) demandsTrip() bool {
	return x.rq.ForceRefresh || x.rq.Refresh || x.rq.Directives.NoCache || x.p.AlwaysRevalidate
}

// joins decides for x, which waited for another caller's trip, whether
// what the trip brought answers it too: a new response x's own lookup
// would have been answered with (one that may be stored, selected by x's
// Vary headers on the trip's own copy of the leader's, and fresh for x), or
// an entry the trip vouched for that decide lets x use.
func (s *Session) joins(x *exchange, res tripResult) (rules.Decision, bool) {
	switch r := res.(type) {
	case *storedAnswer:
		if s.invalidated.Since(x.uriKey(), r.began) {
			// An unsafe request made it unusable after the trip began
			// (memory seed 11761: a stale-if-error fallback the cache
			// had deleted, taken by a caller that began after).
			return rules.Decision{}, false
		}
		d := s.decide(x, r.entry, r.failed)
		ok := x.selects(r.entry, false) && (d.Action == rules.Serve || d.Action == rules.ServeStale)
		return d, ok
	case *newResponse:
		return s.joinsNew(x, r)
	}
	return rules.Decision{}, false
}

// joinsNew is joins for a new response.
func (s *Session) joinsNew(x *exchange, res *newResponse) (rules.Decision, bool) {
	if s.invalidated.Since(x.uriKey(), res.began) {
		return rules.Decision{}, false // brought by a trip an unsafe request overtook
	}
	if !res.shareable || !x.selectsBy(res.header, res.selectors, false) {
		return rules.Decision{}, false
	}
	st := rules.Stored{Header: res.header, RequestedAt: res.requestedAt, CreatedAt: res.info.CreatedAt, ExpiresAt: res.info.Expires}
	rq := x.rq
	d := rules.Decide(s.now(), &st, &rq, x.p.rules)
	return d, d.Action == rules.Serve
}
