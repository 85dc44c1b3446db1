package session

import (
	"context"
	"net/http"
	"time"

	"github.com/reqcache/reqcache/internal/cachestatus"
	"github.com/reqcache/reqcache/internal/streambody"
)

// Info describes how the session answered a response. InfoOf returns it.
type Info struct {
	// FromCache is true when the body comes from the cache (a hit, a stale
	// answer, or a 304 revalidation).
	FromCache bool
	// Key is the cache key of the request ("" when the cache was bypassed).
	Key string
	// CreatedAt is when the cached response was received from the origin.
	CreatedAt time.Time
	// Expires is when the cached response stops being fresh; zero: never.
	Expires time.Time
	// Expired is true when a stale response was served (stale-if-error,
	// stale-while-revalidate, max-stale or OnlyIfCached).
	Expired bool
	// Revalidated is true when the origin answered 304 Not Modified and the
	// cached response was served.
	Revalidated bool
	// Stored is true when the response was written to the cache.
	Stored bool
	// Coalesced is true when the response was shared from another caller's
	// concurrent request for the same key.
	Coalesced bool
	// FleetWait is true when another process sharing the store fetched
	// the response while this one waited for its entry ([mongo] lease).
	FleetWait bool
	// Heuristic is true when the response's freshness lifetime is a
	// heuristic (heuristic_freshness: 10% of the time since its
	// Last-Modified), not given by its headers or the settings.
	Heuristic bool
}

type infoKey struct{}

// infoContext carries an Info on a response's Request without a second
// allocation for the value, and the outcome the observer reports.
type infoContext struct {
	context.Context
	info Info
	// body is the streamed body of a miss, which knows whether it was
	// stored once it has ended.
	body *streambody.Body
	// status is this cache's Cache-Status member, as fields.
	status cachestatus.Status
}

func (c *infoContext) Value(key any) any {
	if key == (infoKey{}) {
		return c
	}
	return c.Context.Value(key)
}

// InfoOf returns how the session answered resp. It is the zero Info for a
// response that did not pass through a session.
func InfoOf(resp *http.Response) Info {
	c := contextOf(resp)
	if c == nil {
		return Info{}
	}
	info := c.info
	if c.body != nil {
		info.Stored = c.body.Stored()
	}
	return info
}

func contextOf(resp *http.Response) *infoContext {
	if resp == nil || resp.Request == nil {
		return nil
	}
	c, _ := resp.Request.Context().Value(infoKey{}).(*infoContext)
	return c
}

// annotation is what annotate adds to a response, in one allocation (it
// took four: the context, the request copy, the field's slice and its
// string).
type annotation struct {
	ctx       infoContext
	req       http.Request
	status    [1]string
	statusTxt [64]byte // status's bytes (RenderInto)
}

// annotate gives a response this cache's Cache-Status and makes its
// Request carry info and the status (for InfoOf and the observer). The
// caller's request is not modified: resp.Request becomes a shallow copy
// with a derived context.
func annotate(resp *http.Response, req *http.Request, info Info, st cachestatus.Status) *infoContext {
	a := &annotation{ctx: infoContext{Context: req.Context(), info: info, status: st}}
	cachestatus.SetHeader(resp.Header, &a.status, st.RenderInto(&a.statusTxt))
	a.req = *req.WithContext(&a.ctx) // WithContext's copy, inlined, stays on the stack
	resp.Request = &a.req
	return &a.ctx
}
