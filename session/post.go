package session

import (
	"net/http"
	"time"

	"github.com/reqcache/reqcache/internal/rules"
)

// This file is RFC 9111 §4 / RFC 9110 §9.3.3: a response to a POST that
// has explicit freshness and a Content-Location equal to the request's URL
// is also the response to a GET of that URL, and is stored as one (with
// cache_control, when POST itself is not cached).

// storedAsGet answers a POST whose response may be stored as the GET of its
// URL: the caller reads the response as it streams while the cache keeps
// it under the GET's key. ok is false when it may not.
func (s *Session) storedAsGet(x *exchange, resp *http.Response, requestedAt, receivedAt time.Time) (*http.Response, bool) {
	p := x.p
	if !p.CacheControl || p.ReadOnly || x.req.Method != http.MethodPost || !p.methods[http.MethodGet] || !p.codes[resp.StatusCode] {
		return nil, false
	}
	loc := resp.Header.Get("Content-Location")
	if loc == "" {
		return nil, false
	}
	u, err := x.req.URL.Parse(loc)
	if err != nil || u.String() != x.req.URL.String() {
		return nil, false
	}
	respD := rules.Parse(resp.Header)
	if life, ok := rules.ExplicitLifetime(resp.Header, &respD, receivedAt); !ok || life <= 0 {
		return nil, false
	}
	get := x.req.Clone(x.req.Context())
	get.Method, get.Body, get.GetBody, get.ContentLength = http.MethodGet, nil, nil, 0
	g := &exchange{req: get, p: p, opts: x.opts, reqD: rules.Absent()}
	g.reqExp, g.ownExp = p.requestExpiration(get, &g.opts)
	g.key = s.keyFor(p, get, nil)
	res := s.receive(x.req.Context(), g, resp, "uri-miss", requestedAt, receivedAt)
	if res.stream != nil { // storeRules said no: resp is untouched
		return nil, false
	}
	out, err := s.respond(g, res, res.first, false, true)
	if err != nil {
		return nil, false
	}
	// respond made out.Request a copy of the GET: the caller sent a POST.
	out.Request.Method = x.req.Method
	return out, true
}
