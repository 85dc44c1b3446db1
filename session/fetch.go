package session

import (
	"context"
	"errors"
	"io"
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/reqcache/reqcache/internal/streambody"
	"github.com/reqcache/reqcache/stores"
)

// fetchResult is what one trip to the origin produced, in a form every
// coalesced caller can turn into its own response. Its body is one of:
// body (complete: an entry answered, or an empty body), shared (a miss
// streaming while the cache keeps its copy), or stream (for the caller that
// made the trip alone).
type fetchResult struct {
	err    error
	status int
	header http.Header // not to be modified: callers clone it
	body   []byte      // complete body; shared read-only
	info   Info
	// fwd, fwdStatus and detail fill this cache's Cache-Status member.
	fwd       string
	fwdStatus int
	detail    string
	// shareable: coalesced callers may use this result. Responses that
	// may not be stored (other than errors) are not shared: each waiter
	// then asks the origin itself.
	shareable bool
	// shared streams the body to every caller; first is the reader of
	// the caller that made the trip.
	shared        *streambody.Body
	first         *streambody.Reader
	contentLength int64
	// stream is the upstream response itself, when it is not kept (too
	// large, not storable, an upgrade); only the leader may use it.
	stream  *http.Response
	release context.CancelFunc
	// reqHeader is the header of the request that made the trip: a
	// coalesced caller may use the result only when the response's Vary
	// selects it for its own request too.
	reqHeader http.Header
}

// discard closes the body of a result the caller that made the trip will
// not read (it left, or it is a background refresh).
func (r *fetchResult) discard() {
	if r == nil {
		return
	}
	if r.first != nil {
		r.first.Close()
		r.first = nil
	}
	if r.stream == nil {
		return
	}
	r.stream.Body.Close()
	r.stream = nil
	if r.release != nil {
		r.release()
	}
}

// consume reads a result's body to its end and closes it, for a background
// refresh: the entry is stored when the body ends.
func (r *fetchResult) consume() {
	if r != nil && r.first != nil {
		_, _ = io.Copy(io.Discard, r.first)
	}
	r.discard()
}

// fetchShared goes to the origin for x, sharing the trip with concurrent
// callers for the same key. e is the stored entry (nil on a miss);
// revalidate makes the trip conditional.
func (s *Session) fetchShared(x *exchange, e *stores.Entry, entryKey string, revalidate bool) (*http.Response, error) {
	ctx := x.req.Context()
	flightKey := x.key
	if revalidate {
		flightKey = "revalidate\x00" + flightKey
	}
	var o outcome
	if ctx.Done() == nil {
		// The caller cannot leave, so the trip runs on its goroutine and x
		// can stay on its stack.
		o = s.flights.doHere(ctx, flightKey, func(fctx context.Context) *fetchResult {
			r := s.fetch(fctx, x, e, entryKey, revalidate)
			r.reqHeader = x.req.Header
			return r
		})
	} else {
		xh := x.onHeap() // the trip may outlive this call
		var err error
		o, err = s.flights.do(ctx, flightKey, func(fctx context.Context) *fetchResult {
			r := s.fetch(fctx, xh, e, entryKey, revalidate)
			r.reqHeader = xh.req.Header
			return r
		})
		if err != nil {
			return nil, err
		}
	}
	res := o.res
	if o.shared && res.err == nil {
		// A result this caller may not use makes it ask the origin
		// itself: one that may not be stored, one whose Vary selects
		// another variant than this caller's request, or a stream whose
		// start is no longer held. (An error is shared: the waiters asked
		// at the same moment.)
		var reader *streambody.Reader
		ok := res.shareable && x.p.keys.VaryMatches(res.header, res.reqHeader, x.req.Header)
		if ok && res.shared != nil {
			reader, ok = res.shared.Attach(o.late)
		}
		if !ok {
			res = s.fetch(ctx, x, e, entryKey, revalidate)
			return s.respond(x, res, res.first, false, true)
		}
		return s.respond(x, res, reader, true, false)
	}
	return s.respond(x, res, res.first, false, o.exclusive)
}

// respond turns a result into this caller's own response; reader is its
// reader of a streamed body. owned says no other caller sees res, so its
// header map can be handed over as it is.
func (s *Session) respond(x *exchange, res *fetchResult, reader *streambody.Reader, shared, owned bool) (*http.Response, error) {
	if res.err != nil {
		return nil, res.err
	}
	info := res.info
	info.Coalesced = shared
	if res.stream != nil {
		resp := res.stream
		if resp.StatusCode != http.StatusSwitchingProtocols {
			// (A 101's body is the live connection: its io.ReadWriteCloser
			// must reach the caller unwrapped.)
			resp.Body = &releaseBody{ReadCloser: resp.Body, stop: stopWith(x.req.Context(), res.release)}
		}
		setCacheStatus(resp.Header, cacheStatus(&info, res.fwd, res.fwdStatus, s.now(), res.detail))
		attachInfo(resp, x.req, info)
		return resp, nil
	}
	h := res.header
	if !owned || res.shared != nil {
		// (A streamed body's header map is also its entry's, stored when
		// the body ends, and late callers may still join the trip.)
		h = h.Clone()
	}
	if shared {
		// The cookie was set for the caller that made the trip.
		delete(h, "Set-Cookie")
	}
	if h == nil {
		h = make(http.Header)
	}
	resp := &http.Response{
		Status:        statusLine(res.status),
		StatusCode:    res.status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        h,
		ContentLength: int64(len(res.body)),
		Request:       x.req,
	}
	status := info
	switch {
	case reader != nil:
		reader.SetContext(x.req.Context())
		resp.Body = reader
		resp.ContentLength = res.contentLength
		// Cache-Status says what the cache does with the response: it is
		// stored when its body ends cleanly (InfoOf tells afterwards).
		status.Stored = true
	case x.req.Method == http.MethodHead:
		resp.Body = newBody(nil)
		resp.ContentLength = -1
		if cl := h.Get("Content-Length"); cl != "" {
			resp.ContentLength = parseContentLength(cl)
		}
	default:
		resp.Body = newBody(res.body)
	}
	if info.FromCache {
		s.stats.serve(0, int64(len(res.body)))
	}
	setCacheStatus(resp.Header, cacheStatus(&status, res.fwd, res.fwdStatus, s.now(), res.detail))
	attachInfo(resp, x.req, info)
	if reader != nil {
		resp.Request.Context().(*infoContext).body = res.shared
	}
	return resp, nil
}

// fetch makes one trip to the origin and stores what may be stored; a
// miss first asks the fleet (fleet.go).
func (s *Session) fetch(ctx context.Context, x *exchange, e *stores.Entry, entryKey string, revalidate bool) *fetchResult {
	if e == nil && !revalidate {
		return s.fetchMiss(ctx, x, entryKey)
	}
	return s.fetchOrigin(ctx, x, e, entryKey, revalidate)
}

// fetchOrigin makes the trip to the origin.
func (s *Session) fetchOrigin(ctx context.Context, x *exchange, e *stores.Entry, entryKey string, revalidate bool) *fetchResult {
	out := x.outgoing(ctx)
	conditional := false
	if revalidate && e != nil {
		out, conditional = conditionalRequest(out, e)
	}
	requestedAt := s.now()
	resp, err := s.upstream.RoundTrip(out)
	receivedAt := s.now()
	if err != nil {
		if e != nil && s.staleIfError(x.p, e, receivedAt) {
			s.stats.stale.Add(1)
			s.logStaleIfError(x, err)
			return s.entryResult(e, entryKey, Info{Expired: true}, "", 0, "stale-if-error")
		}
		return &fetchResult{err: err}
	}
	if resp.StatusCode == http.StatusSwitchingProtocols {
		// An upgrade the request did not announce in Connection: the
		// body is the live connection, for this caller alone.
		return &fetchResult{status: resp.StatusCode, header: resp.Header, stream: resp, fwd: "uri-miss", detail: "upgrade", info: Info{Key: x.key}}
	}
	if conditional && resp.StatusCode == http.StatusNotModified {
		drain(resp)
		s.stats.revalidated.Add(1)
		return s.notModified(ctx, x, e, entryKey, resp, requestedAt, receivedAt)
	}
	if e != nil && !x.p.codes[resp.StatusCode] && resp.StatusCode >= 400 && s.staleIfError(x.p, e, receivedAt) {
		drain(resp)
		s.stats.stale.Add(1)
		s.logStaleIfError(x, errors.New(resp.Status))
		return s.entryResult(e, entryKey, Info{Expired: true}, "", 0, "stale-if-error")
	}
	s.stats.misses.Add(1)
	fwd := "uri-miss"
	switch {
	case x.opts.forceRefresh || x.opts.refresh || x.reqD.NoCache:
		fwd = "request"
	case e != nil:
		fwd = "stale"
	}
	return s.receive(ctx, x, resp, fwd, requestedAt, receivedAt)
}

// receive turns a new response from the origin into a result as soon as
// its header arrives. A response that may be stored streams its body to
// the callers through a streambody.Body, which stores it when it ends cleanly
// within max_body_bytes; any other passes through to the caller that made
// the trip, untouched.
func (s *Session) receive(ctx context.Context, x *exchange, resp *http.Response, fwd string, requestedAt, receivedAt time.Time) *fetchResult {
	res := &fetchResult{status: resp.StatusCode, header: resp.Header, fwd: fwd, info: Info{Key: x.key}}
	f, names, reason := x.p.storeRules(x, resp.StatusCode, resp.Header, requestedAt, receivedAt)
	if reason == "" && resp.ContentLength > x.p.MaxBodyBytes {
		reason = "too-large"
	}
	if reason != "" {
		res.stream, res.detail = resp, reason
		return res
	}
	ps := &pendingStore{s: s, x: *x, e: s.entryFor(x, resp, f, names, requestedAt, receivedAt), names: names, resp: resp, ctx: ctx}
	e := ps.e
	res.shareable = true
	res.info = Info{Key: e.Key, CreatedAt: e.CreatedAt, Expires: e.ExpiresAt, Heuristic: f.Heuristic}
	if f.Heuristic {
		res.detail = "heuristic"
	}
	if resp.ContentLength == 0 || resp.Body == nil || resp.Body == http.NoBody || x.req.Method == http.MethodHead {
		// Nothing to stream: store now.
		if resp.Body != nil {
			drain(resp)
		}
		res.info.Stored = ps.store(nil)
		if !res.info.Stored {
			res.shareable = false
		}
		return res
	}
	res.contentLength = resp.ContentLength
	res.shared, res.first = streambody.New(resp.Body, resp.ContentLength, x.p.MaxBodyBytes, ps.store, s.completeInBackground)
	return res
}

// pendingStore is a response waiting for its body to be stored: what
// saveEntry needs, in one allocation (the exchange copied, so that the
// caller's stays on its stack).
type pendingStore struct {
	s     *Session
	x     exchange
	e     *stores.Entry
	names []string
	resp  *http.Response
	ctx   context.Context
}

// store saves the entry with its complete body. The store outlives the
// caller's request: it happens when the body ends, whoever still reads.
func (ps *pendingStore) store(body []byte) bool {
	ps.e.Body = body
	stored, why := ps.s.saveEntry(context.WithoutCancel(ps.ctx), &ps.x, ps.e, ps.names, ps.resp)
	if !stored && why != "" {
		if ce := ps.s.log.Check(zap.DebugLevel, "reqcache: response not stored"); ce != nil {
			ce.Write(zap.String("key", ps.e.Key), zap.String("reason", why))
		}
	}
	return stored
}

// entryResult answers from a stored entry inside a trip (stale-if-error,
// 304 revalidation).
func (s *Session) entryResult(e *stores.Entry, key string, info Info, fwd string, fwdStatus int, detail string) *fetchResult {
	info.FromCache = true
	info.Key = key
	info.CreatedAt = e.CreatedAt
	info.Expires = e.ExpiresAt
	return &fetchResult{status: e.StatusCode, header: e.Header, body: e.Body, info: info, fwd: fwd, fwdStatus: fwdStatus, detail: detail, shareable: true}
}

func (s *Session) logStaleIfError(x *exchange, err error) {
	if ce := s.log.Check(zap.InfoLevel, "reqcache: origin failed, serving stale entry"); ce != nil {
		ce.Write(zap.String("key", x.key), errorField(x.p.keys, err, x.req))
	}
}

// drain reads a little of a body we do not use, so the connection can be
// reused, and closes it.
func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
}

// releaseBody calls stop when the caller closes a streamed body.
type releaseBody struct {
	io.ReadCloser
	stop func()
}

func (b *releaseBody) Close() error {
	err := b.ReadCloser.Close()
	if b.stop != nil {
		b.stop()
		b.stop = nil
	}
	return err
}

// stopWith cancels a streamed trip's context when the caller's context ends
// (its deadline or cancellation still apply to the body) or when the body
// is closed.
func stopWith(ctx context.Context, release context.CancelFunc) func() {
	if release == nil {
		return nil
	}
	stop := context.AfterFunc(ctx, release)
	return func() {
		stop()
		release()
	}
}

func parseContentLength(v string) int64 {
	var n int64
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return -1
		}
		n = n*10 + int64(v[i]-'0')
		if n > 1<<50 {
			return -1
		}
	}
	return n
}
