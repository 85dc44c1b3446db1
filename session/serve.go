package session

import (
	"bytes"
	"io"
	"net/http"
	"strconv"
	"time"
	"unsafe"

	"github.com/reqcache/reqcache/internal/cachestatus"
	"github.com/reqcache/reqcache/internal/rules"
	"github.com/reqcache/reqcache/stores"
)

// This file builds every answer made from a stored response — a hit, a
// stale answer, an entry a 304 or the fleet vouched for, a part — in one
// function, serve, in one allocation; and the 504 of only-if-cached.
// Whatever path found the entry, its answer carries the same Age,
// Cache-Status, X-From-Cache and Info, and counts in the same stats. The
// http.Response an entry makes (responseFrom: also what the filter,
// Cache.Responses and the debug page see) is built here too.

// answered says how an answer from a stored response came about.
type answered struct {
	// stale: a stale response, allowed for reason (its Cache-Status
	// detail).
	stale  bool
	reason rules.Reason
	// revalidated: a 304 to a trip for this request vouched for it.
	revalidated bool
	// fleetWait: another process of the fleet stored it while this one
	// waited.
	fleetWait bool
	// collapsed: the trip that brought or vouched for it was another
	// caller's.
	collapsed bool
	// at is the instant the reuse decision was made, whose Age and ttl
	// the answer gives (zero: now, for an answer a trip brought about).
	at time.Time
}

// hitState holds everything an answer from the cache needs beyond the
// response itself, in one allocation: the context carrying its Info, its
// body reader and its header values.
type hitState struct {
	resp      http.Response
	req       http.Request // the answer's Request: x.req under ctx
	ctx       infoContext
	body      bodyReader
	status    [1]string
	statusTxt [64]byte // status's bytes (RenderInto)
	age       [1]string
	ageText   [20]byte // age's bytes: its string points here (no allocation)
	fromCache [1]string
	// values backs the copied header of a lent entry, when it fits.
	values [12]string
}

// header is the response header of an answer from e: the entry's own map
// when nobody else sees the entry, else a copy with room for the fields an
// answer adds (Cache-Status, X-From-Cache, and Age under cache_control),
// so that adding them does not grow the map. (A map of up to 8 fields is
// one small group; sizing it for more than it will hold would allocate a
// full table.) The copy walks the map once, its values into hs.values
// while they fit: counting them first cost 4-5% of a hit (HitSameAnswer).
func (hs *hitState) header(e *stores.Entry, lent, age bool) http.Header {
	if !lent {
		if e.Header == nil {
			e.Header = make(http.Header, 3)
		}
		return e.Header
	}
	room := 2
	if age {
		room = 3
	}
	h := make(http.Header, len(e.Header)+room)
	vals := hs.values[:]
	for k, vs := range e.Header {
		if len(vs) > len(vals) {
			// Past hs.values (a header of more than 12 values): room
			// for this field's and, most likely, the rest's.
			vals = make([]string, len(vs)+len(e.Header))
		}
		c := copy(vals, vs)
		h[k] = vals[:c:c]
		vals = vals[c:]
	}
	return h
}

// serve answers x from stored entry e (under key): the one builder of an
// answer without a new origin exchange for x. lent says others may see
// e (a store's lent copy, an entry several callers are answered from): its
// header is then copied.
func (s *Session) serve(x *exchange, e *stores.Entry, key string, lent bool, how answered) *http.Response {
	now := how.at
	if now.IsZero() {
		now = s.now()
	}
	hs := &hitState{}
	info := Info{
		FromCache: true, Key: key, CreatedAt: e.CreatedAt, Expires: e.ExpiresAt, Expired: how.stale,
		Revalidated: how.revalidated, Coalesced: how.collapsed, FleetWait: how.fleetWait, Heuristic: e.Heuristic(),
	}
	st := cachestatus.Status{Hit: !how.revalidated, Collapsed: how.collapsed}.WithTTL(e.ExpiresAt, now)
	switch {
	case how.revalidated:
		st.Fwd, st.FwdStatus = cachestatus.FwdStale, http.StatusNotModified
	case how.stale:
		st.Detail = cachestatus.Stale(how.reason)
	case how.fleetWait:
		st.Detail = cachestatus.DetailFleetWait
	case e.Heuristic():
		st.Detail = cachestatus.DetailHeuristic
	}
	resp := &hs.resp
	fillResponse(resp, e, hs.header(e, lent, x.p.CacheControl), x.req, &hs.body)
	h := resp.Header
	if x.p.CacheControl {
		// RFC 9111 §4.2.3: every answer from a stored response says how
		// old it is (after a 304, as old as that made it), counted from
		// when it was generated (stores.Entry.GeneratedAt: no Date or Age
		// parsed per hit when the store kept it).
		// The string is backed by hs.ageText, written once here and alive
		// as long as the response is: one allocation fewer per hit.
		stored := storedOf(e)
		digits := strconv.AppendInt(hs.ageText[:0], int64(stored.Age(now)/time.Second), 10)
		hs.age[0] = unsafe.String(&digits[0], len(digits))
		h["Age"] = hs.age[:1:1]
	}
	// gregjones/httpcache's convention, read by go-github and others to
	// tell a cached response from the origin's.
	hs.fromCache[0] = "1"
	h["X-From-Cache"] = hs.fromCache[:1:1]
	cachestatus.SetHeader(h, &hs.status, st.RenderInto(&hs.statusTxt))
	switch {
	case how.stale:
		s.stats.stale.Add(1)
		s.stats.serve(0, int64(len(e.Body)))
	case how.revalidated:
		s.stats.serve(0, int64(len(e.Body)))
	default:
		if how.fleetWait {
			s.stats.fleetWaits.Add(1)
		}
		s.stats.serve(1, int64(len(e.Body)))
	}
	hs.ctx = infoContext{Context: x.req.Context(), info: info, status: st}
	// WithContext's copy, inlined, stays on the stack; hs keeps the
	// copy of it: one allocation fewer per hit.
	hs.req = *x.req.WithContext(&hs.ctx)
	resp.Request = &hs.req
	return resp
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

// statusLines are the status lines of the codes net/http names, by code:
// an array, not a map, because every answer looks its line up.
var statusLines = func() (lines [600]string) {
	for code := range lines {
		if t := http.StatusText(code); t != "" {
			lines[code] = strconv.Itoa(code) + " " + t
		}
	}
	return lines
}()

// statusLine is a response's Status for code ("200 OK"; "299" for a code
// net/http does not name).
func statusLine(code int) string {
	if code >= 0 && code < len(statusLines) && statusLines[code] != "" {
		return statusLines[code]
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

// gatewayTimeout is the answer to only-if-cached when nothing usable is
// cached (RFC 9111 §5.2.1.7). The caller's body is closed: nothing reads
// it (the RoundTripper contract).
func (s *Session) gatewayTimeout(x *exchange) *http.Response {
	if x.req.Body != nil && x.req.Body != http.NoBody && x.body == nil {
		x.req.Body.Close()
	}
	if x.sendBody != nil {
		x.sendBody.Close()
	}
	resp := &http.Response{
		Status:     statusLine(http.StatusGatewayTimeout),
		StatusCode: http.StatusGatewayTimeout,
		Proto:      "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:  http.Header{"Content-Type": {"text/plain; charset=utf-8"}},
		Body:    newBody([]byte("reqcache: only-if-cached and nothing usable is cached\n")),
		Request: x.req,
	}
	resp.ContentLength = int64(resp.Body.(*bodyReader).Len())
	annotate(resp, x.req, Info{Key: x.key}, cachestatus.Status{Detail: cachestatus.DetailOnlyIfCached})
	return resp
}
