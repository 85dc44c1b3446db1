package session

import (
	"net/http"
	"time"

	"github.com/reqcache/reqcache/internal/rules"
	"github.com/reqcache/reqcache/stores"
)

// This file answers from the cache: a hit (or a stale answer) built from a
// stored entry in one allocation, and the 504 of only-if-cached.

// hitState holds everything a served hit needs beyond the response
// itself, in one allocation: the context carrying its Info, its body reader
// and its header values.
type hitState struct {
	resp   http.Response
	ctx    infoContext
	body   bodyReader
	status [1]string
	age    [1]string
	// values backs the copied header of a lent entry, when it fits.
	values [12]string
}

// header is the response header of a hit: the entry's own map when the
// caller owns the entry, else a copy with room for the fields a hit adds
// (Cache-Status, and Age under cache_control), so that adding them does not
// grow the map. (A map of up to 8 fields is one small group; sizing it
// for more than it will hold would allocate a full table.)
func (hs *hitState) header(e *stores.Entry, lent, age bool) http.Header {
	if !lent {
		return e.Header
	}
	n := 0
	for _, vs := range e.Header {
		n += len(vs)
	}
	var vals []string
	if n <= len(hs.values) {
		vals = hs.values[:n:n]
	} else {
		vals = make([]string, n)
	}
	room := 1
	if age {
		room = 2
	}
	h := make(http.Header, len(e.Header)+room)
	for k, vs := range e.Header {
		c := copy(vals, vs)
		h[k] = vals[:c:c]
		vals = vals[c:]
	}
	return h
}

// serve answers from a stored entry.
func (s *Session) serve(x *exchange, e *stores.Entry, key string, stale bool, detail string) *http.Response {
	now := s.now()
	hs := &hitState{}
	hs.ctx = infoContext{Context: x.req.Context(), info: Info{FromCache: true, Key: key, CreatedAt: e.CreatedAt, Expires: e.ExpiresAt, Expired: stale}}
	if !stale {
		detail = ""
		if x.heuristicEntry(e) {
			hs.ctx.info.Heuristic = true
			detail = "heuristic"
		}
	}
	resp := &hs.resp
	fillResponse(resp, e, hs.header(e, x.lent, x.p.CacheControl), x.req, &hs.body)
	h := resp.Header
	if x.p.CacheControl {
		hs.age[0] = itoa(int64(rules.CurrentAge(e.Header, e.RequestedAt, e.CreatedAt, now) / time.Second))
		h["Age"] = hs.age[:1:1]
	}
	hs.status[0] = cacheStatus(&hs.ctx.info, "", 0, now, detail)
	if prev := h["Cache-Status"]; len(prev) > 0 {
		setCacheStatus(h, hs.status[0])
	} else {
		h["Cache-Status"] = hs.status[:1:1]
	}
	hits := int64(1) // a fresh hit; stale answers are counted by the caller
	if stale {
		hits = 0
	}
	s.stats.serve(hits, int64(len(e.Body)))
	resp.Request = x.req.WithContext(&hs.ctx)
	return resp
}

// gatewayTimeout is the answer to only-if-cached when nothing usable is
// cached (RFC 9111 §5.2.1.7).
func (s *Session) gatewayTimeout(x *exchange) *http.Response {
	resp := &http.Response{
		Status:     statusLine(http.StatusGatewayTimeout),
		StatusCode: http.StatusGatewayTimeout,
		Proto:      "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:  http.Header{"Content-Type": {"text/plain; charset=utf-8"}},
		Body:    newBody([]byte("reqcache: only-if-cached and nothing usable is cached\n")),
		Request: x.req,
	}
	resp.ContentLength = int64(resp.Body.(*bodyReader).Len())
	info := Info{Key: x.key}
	setCacheStatus(resp.Header, cacheStatus(&info, "", 0, time.Time{}, "only-if-cached"))
	attachInfo(resp, x.req, info)
	return resp
}
