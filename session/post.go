package session

import (
	"net/http"
	"time"

	"github.com/reqcache/reqcache/internal/cachestatus"

	"github.com/reqcache/reqcache/internal/reqbody"
	"github.com/reqcache/reqcache/internal/rules"
)

// This file is RFC 9111 §4 / RFC 9110 §9.3.3: a response to a POST that
// has explicit freshness and a Content-Location equal to the request's URL
// is also the response to a GET of that URL, and is stored as one (with
// cache_control, when POST itself is not cached) — through the one door
// in, as the exchange that produced it: the POST's own headers
// (credentials), directives and options.

// storedAsGet answers a POST whose response may be stored as the GET of its
// URL: the caller reads the response as it streams while the cache keeps
// it under the GET's key. ok is false when it may not; why is then the
// storability decision's reason when the response named its URL but
// admit refused it ("" when it never was a candidate).
func (s *Session) storedAsGet(x *exchange, resp *http.Response, requestedAt, receivedAt time.Time) (out *http.Response, why cachestatus.Detail, ok bool) {
	p := x.p
	if !p.CacheControl || !p.methods[http.MethodGet] {
		return nil, "", false
	}
	loc := resp.Header.Get("Content-Location")
	if loc == "" {
		return nil, "", false
	}
	u, err := x.req.URL.Parse(loc)
	if err != nil || u.String() != x.req.URL.String() {
		return nil, "", false
	}
	respD := rules.Parse(resp.Header)
	if life, ok := rules.ExplicitLifetime(resp.Header, &respD, receivedAt); !ok || life <= 0 {
		return nil, "", false
	}
	get := x.req.Clone(x.req.Context())
	get.Method, get.Body, get.GetBody, get.ContentLength = http.MethodGet, nil, nil, 0
	// The GET begins after the POST's own invalidation, with the POST's
	// options and directives (get has its header).
	g := &exchange{req: get, p: p, expireAfter: x.expireAfter, up: x.up, since: s.invalidated.Now()}
	g.rq.Options = x.rq.Options
	g.readRequest()
	g.bodyCredentials = p.SeparateCredentials && !s.bodyHoldsNoCredentials(x)
	g.key = s.keyFor(p, get, nil)
	f := s.lookup(g) // what the GET's key holds, for the write
	res := s.receive(x.req.Context(), g, f, resp, cachestatus.FwdURIMiss, requestedAt, receivedAt)
	if !res.kept() { // resp is untouched: the caller's, as it came
		return nil, res.detail, false
	}
	out = s.respondNew(g, res, res.first, false, true, time.Time{})
	// respondNew made out.Request a copy of the GET: the caller sent a POST.
	out.Request.Method = x.req.Method
	return out, "", true
}

// bodyHoldsNoCredentials reports a POST whose body is known to carry no
// credential (ignored parameters in a form or JSON body): read through
// GetBody, which leaves the body being sent alone. A body that cannot be
// read again is not known.
func (s *Session) bodyHoldsNoCredentials(x *exchange) bool {
	ct := x.req.Header.Get("Content-Type")
	if x.req.Body == nil || x.req.Body == http.NoBody || x.req.ContentLength == 0 || !x.p.keys.BodyMayHoldCredentials(ct) {
		return true
	}
	if x.req.GetBody == nil {
		return false
	}
	rc, err := x.req.GetBody()
	if err != nil {
		return false
	}
	defer rc.Close()
	body, whole, err := reqbody.Read(&http.Request{Body: rc}, x.p.MaxBodyBytes)
	if err != nil || whole != nil {
		if whole != nil {
			whole.Close()
		}
		return false
	}
	_, found := x.p.keys.NormalizeBody(ct, body, false)
	return !found
}
