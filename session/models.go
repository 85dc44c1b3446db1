package session

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/reqcache/reqcache/internal/rules"
	"github.com/reqcache/reqcache/internal/streambody"
	"github.com/reqcache/reqcache/stores"
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
	status cacheStatus
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

// Cache-Status (RFC 9211) values of this cache.
const cacheName = "reqcache"

// fwd is why a request went forward (RFC 9211 §2.2).
type fwd string

const (
	fwdNone    fwd = ""         // answered from the cache
	fwdURIMiss fwd = "uri-miss" // nothing stored
	fwdStale   fwd = "stale"    // stored, but stale: revalidated or fetched
	fwdRequest fwd = "request"  // the request asked for the origin (ForceRefresh, Refresh, no-cache)
	fwdBypass  fwd = "bypass"   // the cache was not used
)

// detail is the detail parameter of this cache's Cache-Status: why a
// response was answered stale, not stored, or bypassed. Every value is a
// constant here, a string literal; docs/installing.md lists them (a test
// reads both).
type detail string

// The details.
const (
	detailNone                 detail = ""
	detailStaleIfError         detail = "stale-if-error" // the stale reasons are rules.Reason's
	detailStaleWhileRevalidate detail = "stale-while-revalidate"
	detailMaxStale             detail = "max-stale"
	detailOnlyIfCached         detail = "only-if-cached"
	detailHeuristic            detail = "heuristic"
	detailFleetWait            detail = "fleet-wait"
	detailRange                detail = "range"
	detailUpgrade              detail = "upgrade"
	// Why the cache was bypassed.
	detailDisabled        detail = "disabled"
	detailDoNotCache      detail = "do_not_cache"
	detailMethod          detail = "method"
	detailMethodOverride  detail = "method-override"
	detailRequestTooLarge detail = "request-too-large"
	detailBodyCredentials detail = "body-credentials"
	detailFilter          detail = "filter"
	detailTooLarge        detail = "too-large"
	detailStoreError      detail = "store-error"
	detailStatus          detail = "status"
	detailNoStore         detail = "no-store"
	detailRequestNoStore  detail = "request-no-store"
	detailMustUnderstand  detail = "must-understand"
	detailNoValidator     detail = "no-validator"
	detailVary            detail = "vary"
	detailSetCookie       detail = "set-cookie"
	detailEventStream     detail = "event-stream"
	detailReadOnly        detail = "read-only"
	// A Location naming a URL with a credential.
	detailLocationCredential detail = "location-credential"
	detailInvalidated        detail = "invalidated" // the resource invalidated meanwhile (store.go overtaken)
)

// cacheStatus is this cache's Cache-Status member for one response, as
// named fields; render writes it once.
type cacheStatus struct {
	hit       bool
	fwd       fwd
	fwdStatus int
	// ttl: the seconds of freshness left (negative: stale), when it
	// expires at all.
	ttl       int64
	hasTTL    bool
	stored    bool
	collapsed bool
	detail    detail
}

// withTTL sets the ttl of a response that expires at expires (zero:
// never).
func (c cacheStatus) withTTL(expires, now time.Time) cacheStatus {
	if !expires.IsZero() {
		c.ttl, c.hasTTL = rules.SecondsFloor(expires.Sub(now)), true
	}
	return c
}

// render writes the member.
func (c *cacheStatus) render() string {
	if c.hit && !c.hasTTL && !c.stored && !c.collapsed && c.detail == "" {
		return plainHit // the common hit of an entry that never expires: no allocation
	}
	b := make([]byte, 0, 64)
	b = append(b, cacheName...)
	if c.hit {
		b = append(b, "; hit"...)
	}
	if c.fwd != fwdNone {
		b = append(b, "; fwd="...)
		b = append(b, c.fwd...)
		if c.fwdStatus != 0 {
			b = append(b, "; fwd-status="...)
			b = strconv.AppendInt(b, int64(c.fwdStatus), 10)
		}
	}
	if c.hasTTL {
		b = append(b, "; ttl="...)
		b = strconv.AppendInt(b, c.ttl, 10)
	}
	if c.stored {
		b = append(b, "; stored"...)
	}
	if c.collapsed {
		b = append(b, "; collapsed"...)
	}
	if c.detail != "" {
		b = append(b, "; detail="...)
		b = append(b, c.detail...)
	}
	return string(b)
}

const plainHit = cacheName + "; hit"

// setCacheStatus adds this cache's member to the response's Cache-Status,
// after any member an upstream cache wrote (RFC 9211 §2: the cache nearest
// the client comes last); slot backs the field when it is the only member.
func setCacheStatus(h http.Header, slot *[1]string, v string) {
	if prev := h["Cache-Status"]; len(prev) > 0 {
		h["Cache-Status"] = append(prev[:len(prev):len(prev)], v)
		return
	}
	slot[0] = v
	h["Cache-Status"] = slot[:1:1]
}

// annotation is what annotate adds to a response, in one allocation (it
// took three: the context, the request copy and the field's slice).
type annotation struct {
	ctx    infoContext
	req    http.Request
	status [1]string
}

// annotate gives a response this cache's Cache-Status and makes its
// Request carry info and the status (for InfoOf and the observer). The
// caller's request is not modified: resp.Request becomes a shallow copy
// with a derived context.
func annotate(resp *http.Response, req *http.Request, info Info, st cacheStatus) *infoContext {
	a := &annotation{ctx: infoContext{Context: req.Context(), info: info, status: st}}
	setCacheStatus(resp.Header, &a.status, st.render())
	a.req = *req.WithContext(&a.ctx) // WithContext's copy, inlined, stays on the stack
	resp.Request = &a.req
	return &a.ctx
}

// bodyReader is a cached body: one allocation, no copy of the bytes.
type bodyReader struct {
	bytes.Reader
}

func (*bodyReader) Close() error { return nil }

func newBody(b []byte) io.ReadCloser {
	r := &bodyReader{}
	r.Reset(b)
	return r
}

var statusLines = func() map[int]string {
	m := make(map[int]string, 64)
	for code := 100; code < 600; code++ {
		if t := http.StatusText(code); t != "" {
			m[code] = strconv.Itoa(code) + " " + t
		}
	}
	return m
}()

func statusLine(code int) string {
	if s, ok := statusLines[code]; ok {
		return s
	}
	return strconv.Itoa(code)
}

// responseFrom builds the response a stored entry answers with, reading
// its body from r (a new reader when nil). The entry's header map becomes
// the response's (a store returns fresh maps), so the entry must not be
// used to write afterwards.
func responseFrom(e *stores.Entry, req *http.Request, r *bodyReader) *http.Response {
	resp := new(http.Response)
	fillResponse(resp, e, e.Header, req, r)
	return resp
}

// fillResponse is responseFrom into a response the caller allocated (a hit
// allocates it together with the rest of its state), with header h.
func fillResponse(resp *http.Response, e *stores.Entry, h http.Header, req *http.Request, r *bodyReader) {
	if h == nil {
		h = make(http.Header, 2)
	}
	body := e.Body
	if req.Method == http.MethodHead {
		body = nil
	}
	if r == nil {
		r = &bodyReader{}
	}
	r.Reset(body)
	*resp = http.Response{
		Status:        statusLine(e.StatusCode),
		StatusCode:    e.StatusCode,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        h,
		Body:          r,
		ContentLength: int64(len(e.Body)),
		Request:       req,
	}
}
