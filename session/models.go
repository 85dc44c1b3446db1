package session

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/reqcache/reqcache/internal/cachekey"
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
// allocation for the value.
type infoContext struct {
	context.Context
	info Info
	// body is the streamed body of a miss, which knows whether it was
	// stored once it has ended.
	body *streambody.Body
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
	if resp == nil || resp.Request == nil {
		return Info{}
	}
	c, ok := resp.Request.Context().Value(infoKey{}).(*infoContext)
	if !ok {
		return Info{}
	}
	info := c.info
	if c.body != nil {
		info.Stored = c.body.Stored()
	}
	return info
}

// attachInfo makes resp.Request carry info. The caller's request is not
// modified: resp.Request becomes a shallow copy with a derived context.
func attachInfo(resp *http.Response, req *http.Request, info Info) {
	ctx := &infoContext{Context: req.Context(), info: info}
	resp.Request = req.WithContext(ctx)
}

// Cache-Status (RFC 9211) values of this cache.
const cacheName = "reqcache"

// cacheStatus builds this cache's Cache-Status member for a response.
func cacheStatus(info *Info, fwd string, fwdStatus int, now time.Time, detail string) string {
	if info.FromCache && fwd == "" && info.Expires.IsZero() && !info.Stored && !info.Coalesced && detail == "" {
		return plainHit // the common hit of an entry that never expires: no allocation
	}
	b := make([]byte, 0, 64)
	b = append(b, cacheName...)
	if info.FromCache && fwd == "" {
		b = append(b, "; hit"...)
	}
	if fwd != "" {
		b = append(b, "; fwd="...)
		b = append(b, fwd...)
		if fwdStatus != 0 {
			b = append(b, "; fwd-status="...)
			b = strconv.AppendInt(b, int64(fwdStatus), 10)
		}
	}
	if info.FromCache && !info.Expires.IsZero() {
		b = append(b, "; ttl="...)
		b = strconv.AppendInt(b, int64(secondsFloor(info.Expires.Sub(now))), 10)
	}
	if info.Stored {
		b = append(b, "; stored"...)
	}
	if info.Coalesced {
		b = append(b, "; collapsed"...)
	}
	if detail != "" {
		b = append(b, "; detail="...)
		b = append(b, detail...)
	}
	return string(b)
}

const plainHit = cacheName + "; hit"

func secondsFloor(d time.Duration) int64 {
	s := int64(d / time.Second)
	if d < 0 && d%time.Second != 0 {
		s--
	}
	return s
}

// setCacheStatus adds this cache's member to the response's Cache-Status,
// after any member an upstream cache wrote (RFC 9211 §2: the cache nearest
// the client comes last).
func setCacheStatus(h http.Header, v string) {
	if prev := h["Cache-Status"]; len(prev) > 0 {
		h["Cache-Status"] = append(prev[:len(prev):len(prev)], v)
		return
	}
	h["Cache-Status"] = []string{v}
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

// hopByHop headers are never stored (RFC 9111 §3.1).
var hopByHop = []string{"Connection", "Keep-Alive", "Proxy-Connection", "Te", "Trailer", "Transfer-Encoding", "Upgrade", "Proxy-Authenticate"}

// storableHeader copies the response header minus hop-by-hop fields, the
// fields named by Connection, Set-Cookie, and this cache's own
// Cache-Status. When there
// is nothing to remove it returns h itself: the entry it goes into is only
// handed to Store.Set, which never retains what it is given.
func storableHeader(h http.Header) http.Header {
	strip := len(h["Cache-Status"]) > 0 || len(h["Set-Cookie"]) > 0
	for _, f := range hopByHop {
		strip = strip || len(h[f]) > 0
	}
	if !strip {
		return h
	}
	out := h.Clone()
	for _, v := range h.Values("Connection") {
		for _, f := range cachekey.SplitList(v) {
			out.Del(f)
		}
	}
	for _, f := range hopByHop {
		delete(out, f)
	}
	delete(out, "Cache-Status")
	// A cookie is for the caller whose request received it, never for
	// whoever a stored response answers later.
	delete(out, "Set-Cookie")
	return out
}
