package session

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/reqcache/reqcache/internal/cachestatus"
	"github.com/reqcache/reqcache/internal/flight"

	"go.uber.org/zap"

	"github.com/reqcache/reqcache/internal/cachekey"
	"github.com/reqcache/reqcache/internal/rules"
	"github.com/reqcache/reqcache/internal/streambody"
	"github.com/reqcache/reqcache/stores"
)

// fetchShared goes to the origin for x, sharing the trip with concurrent
// callers for the same key; f is what lookup found, revalidate makes the
// trip conditional. A request that demands a trip of its own
// (demandsTrip) never waits for another's.
func (s *Session) fetchShared(x *exchange, f found, revalidate bool) (*http.Response, error) {
	ctx := x.req.Context()
	if x.demandsTrip() {
		return s.respond(x, s.fetch(ctx, x, f, revalidate), true)
	}
	flightKey := x.key
	if revalidate {
		flightKey = "revalidate\x00" + flightKey
	}
	var o flight.Outcome[tripResult]
	if ctx.Done() == nil {
		// The caller cannot leave, so the trip runs on its goroutine and x
		// can stay on its stack.
		o = s.flights.DoHere(ctx, flightKey, func(fctx context.Context) tripResult {
			return s.fetch(fctx, x, f, revalidate)
		})
	} else {
		xh := x.onHeap() // the trip may outlive this call
		var err error
		o, err = s.flights.Do(ctx, flightKey, func(fctx context.Context) tripResult {
			return s.fetch(fctx, xh, f, revalidate)
		})
		if err != nil {
			return nil, err
		}
	}
	res := o.Res
	if !o.Joined || failure(res) != nil {
		// (An error is shared: the waiters asked at the same moment.)
		return s.respond(x, res, o.Exclusive)
	}
	// What another caller's trip brought answers this one only when this
	// caller could have been answered with it anyway (the one reuse
	// decision): else it asks the origin itself.
	d, ok := s.joins(x, res)
	var reader *streambody.Reader
	if r, isNew := res.(*newResponse); ok && isNew && r.streamed != nil {
		reader, ok = r.streamed.Attach(o.Late)
	}
	if !ok {
		return s.respond(x, s.fetch(ctx, x, f, revalidate), true)
	}
	if sa, isStored := res.(*storedAnswer); isStored {
		how := sa.how
		how.collapsed = true
		how.stale = d.Action == rules.ServeStale
		how.reason = d.Reason
		how.at = d.At
		return s.serve(x, sa.entry, sa.key, true, how), nil
	}
	return s.respondNew(x, res.(*newResponse), reader, true, false, d.At), nil // (joins answers for these two outcomes only)
}

// respond turns the outcome of this caller's own trip into its response
// (another caller's trip answers through joins, in fetchShared). owned
// says no other caller sees the outcome, so its header map can be handed
// over as it is.
func (s *Session) respond(x *exchange, res tripResult, owned bool) (*http.Response, error) {
	switch r := res.(type) {
	case tripFailed:
		return nil, r.err
	case *storedAnswer:
		resp := s.serve(x, r.entry, r.key, true, r.how)
		if len(r.setCookie) > 0 {
			resp.Header["Set-Cookie"] = r.setCookie
		}
		return resp, nil
	case *newResponse:
		return s.respondNew(x, r, r.first, false, owned, time.Time{}), nil
	}
	panic("reqcache: unknown trip outcome")
}

// respondNew is respond for a new response. A joined answer gives the Age
// of at, the instant joins decided it answers this caller (zero: now).
func (s *Session) respondNew(x *exchange, res *newResponse, reader *streambody.Reader, joined, owned bool, at time.Time) *http.Response {
	info := res.info
	// A joined answer — early or late, another caller's trip — made no
	// exchange of this caller's: it is from the cache (X-From-Cache,
	// InfoOf), collapsed (Cache-Status), and says its Age.
	info.Coalesced, info.FromCache = joined, joined
	st := cachestatus.Status{Fwd: res.fwd, Collapsed: joined, Detail: res.detail}
	if res.untouched != nil {
		resp := res.untouched
		if resp.StatusCode != http.StatusSwitchingProtocols {
			// (A 101's body is the live connection: its io.ReadWriteCloser
			// must reach the caller unwrapped.)
			resp.Body = &releaseBody{ReadCloser: resp.Body, stop: stopWith(x.req.Context(), res.release)}
		}
		annotate(resp, x.req, info, st)
		return resp
	}
	h := res.header
	if !owned || res.streamed != nil {
		// (A streamed body's header map is also its entry's, stored when
		// the body ends, and late callers may still join the trip.)
		h = h.Clone()
	}
	if h == nil {
		h = make(http.Header)
	}
	if joined {
		h["X-From-Cache"] = []string{"1"}
		// The cookie was set for the caller that made the trip.
		delete(h, "Set-Cookie")
		if x.p.CacheControl {
			// Another caller's response, used without a trip of this
			// caller's: it says how old it is (RFC 9111 §4.2.3).
			if at.IsZero() {
				at = s.now()
			}
			h["Age"] = []string{itoa(int64(rules.CurrentAge(res.header, res.requestedAt, res.info.CreatedAt, at) / time.Second))}
		}
	}
	resp := &http.Response{
		Status:        statusLine(res.status),
		StatusCode:    res.status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        h,
		ContentLength: int64(len(res.body)),
		Uncompressed:  res.uncompressed,
		Request:       x.req,
	}
	switch {
	case reader != nil:
		reader.SetContext(x.req.Context())
		resp.Body = reader
		resp.ContentLength = res.contentLength
		// Cache-Status says what the cache does with the response: it is
		// stored when its body ends cleanly (InfoOf tells afterwards).
		st.Stored = true
	case x.req.Method == http.MethodHead:
		resp.Body = newBody(nil)
		st.Stored = info.Stored
		resp.ContentLength = -1
		if cl := h.Get("Content-Length"); cl != "" {
			resp.ContentLength = parseContentLength(cl)
		}
	default:
		resp.Body = newBody(res.body)
		st.Stored = info.Stored
	}
	ctx := annotate(resp, x.req, info, st)
	if reader != nil {
		ctx.body = res.streamed
	}
	return resp
}

// selectsStored reports a 304 to a request the cache did not make
// conditional (a Refresh of an entry without a validator, an origin that
// answers 304 whatever it is asked) that speaks for the stored entry e, as
// requests-cache takes it: it carries no validator, or e's own (RFC 9111
// §4.3.4's selection). A 304 to the caller's own conditional request is
// the caller's, and one naming another validator is not about e: both go
// through as they are.
func selectsStored(req *http.Request, e *stores.Entry, h http.Header) bool {
	for _, c := range []string{"If-None-Match", "If-Modified-Since", "If-Match", "If-Unmodified-Since", "If-Range"} {
		if req.Header.Get(c) != "" {
			return false
		}
	}
	etag, lm := h.Get("ETag"), h.Get("Last-Modified")
	switch {
	case etag != "":
		return etag == e.Header.Get("ETag")
	case lm != "":
		return lm == e.Header.Get("Last-Modified")
	}
	return true
}

// fetch makes one trip to the origin and stores what may be stored; a
// miss first asks the fleet (fleet.go).
func (s *Session) fetch(ctx context.Context, x *exchange, f found, revalidate bool) tripResult {
	var res tripResult
	if f.e == nil && !revalidate {
		res = s.fetchMiss(ctx, x, f)
	} else {
		res = s.fetchOrigin(ctx, x, f, revalidate)
	}
	switch r := res.(type) {
	case *newResponse:
		r.began = x.since
	case *storedAnswer:
		r.began = x.since
	}
	return res
}

// fetchOrigin makes the trip to the origin. f.e, when set, is read only.
func (s *Session) fetchOrigin(ctx context.Context, x *exchange, f found, revalidate bool) tripResult {
	e := f.e
	out := x.outgoing(ctx)
	conditional := false
	if revalidate && e != nil {
		out, conditional = conditionalRequest(out, e)
	}
	requestedAt := s.now()
	resp, err := send(x.up, out)
	receivedAt := s.now()
	if err != nil {
		if res := s.staleOnError(x, f, err); res != nil {
			return res
		}
		return tripFailed{err: err}
	}
	if resp.StatusCode == http.StatusSwitchingProtocols {
		// An upgrade the request did not announce in Connection: the
		// body is the live connection, for this caller alone.
		return &newResponse{status: resp.StatusCode, header: resp.Header, untouched: resp, fwd: cachestatus.FwdURIMiss, detail: cachestatus.DetailUpgrade, info: Info{Key: x.key}}
	}
	if resp.StatusCode == http.StatusNotModified && (conditional || e != nil && selectsStored(x.req, e, resp.Header)) {
		drain(resp)
		s.stats.revalidated.Add(1)
		return s.notModified(ctx, x, f, resp, requestedAt, receivedAt)
	}
	if e != nil && resp.StatusCode >= 400 && !x.p.rules.Codes[resp.StatusCode] {
		if res := s.staleOnError(x, f, errors.New(resp.Status)); res != nil {
			drain(resp)
			return res
		}
	}
	s.stats.misses.Add(1)
	fwd := cachestatus.FwdURIMiss
	switch {
	case x.rq.ForceRefresh || x.rq.Refresh || x.rq.Directives.NoCache:
		fwd = cachestatus.FwdRequest
	case e != nil:
		fwd = cachestatus.FwdStale
	}
	return s.receive(ctx, x, f, resp, fwd, requestedAt, receivedAt)
}

// staleOnError answers x from its stored entry when its trip failed, if
// the one reuse decision lets it (stale-if-error) and no invalidation of
// its resource came after x began; nil otherwise.
func (s *Session) staleOnError(x *exchange, f found, err error) *storedAnswer {
	if f.e == nil || s.overtaken(x, x.uriKey()) {
		// (An unsafe request invalidated the resource after x began: the
		// cache no longer holds f.e, and a caller that joins this trip
		// after the invalidation must not get it.)
		return nil
	}
	d := s.decide(x, f.e, true)
	if d.Action != rules.ServeStale {
		return nil
	}
	if ce := s.log.Check(zap.InfoLevel, "reqcache: origin failed, serving stale entry"); ce != nil {
		ce.Write(zap.String("key", x.key), errorField(x.p.keys, err, x.req))
	}
	return &storedAnswer{entry: f.e, key: f.key, how: answered{stale: true, reason: d.Reason}, failed: true}
}

// receive turns a new response from the origin into a result as soon as
// its header arrives. A response that may be stored (admit) streams its
// body to the callers through a streambody.Body, which stores it when it
// ends cleanly within max_body_bytes; any other passes through to the
// caller that made the trip, untouched.
func (s *Session) receive(ctx context.Context, x *exchange, f found, resp *http.Response, fwd cachestatus.Fwd, requestedAt, receivedAt time.Time) *newResponse {
	res := &newResponse{status: resp.StatusCode, header: resp.Header, fwd: fwd, info: Info{Key: x.key}, requestedAt: requestedAt, uncompressed: resp.Uncompressed}
	a := s.admit(x, resp.StatusCode, resp.Header, requestedAt, receivedAt)
	why := a.refused
	if why == "" && resp.ContentLength > x.p.MaxBodyBytes {
		why = cachestatus.DetailTooLarge
	}
	if why != "" {
		res.untouched, res.detail = resp, why
		return res
	}
	ps := &res.pending
	*ps = pendingStore{s: s, x: *x, f: f, a: a, e: s.entryFor(x, resp.StatusCode, resp.Header, a, requestedAt, receivedAt), resp: resp, ctx: ctx}
	e := ps.e
	res.shareable = true
	res.selectors = cachekey.Selectors(x.req.Header, a.names)
	res.info = Info{Key: e.Key, CreatedAt: e.CreatedAt, Expires: e.ExpiresAt, Heuristic: a.Heuristic()}
	if a.Heuristic() {
		res.detail = cachestatus.DetailHeuristic
	}
	if resp.ContentLength == 0 || resp.Body == http.NoBody || x.req.Method == http.MethodHead {
		// Nothing to stream: store now.
		drain(resp)
		res.info.Stored = ps.save(nil)
		if !res.info.Stored {
			res.shareable = false
		}
		return res
	}
	res.contentLength = resp.ContentLength
	res.streamed, res.first = streambody.New(resp.Body, resp.ContentLength, x.p.MaxBodyBytes, ps)
	return res
}

// pendingStore is a response waiting for its body to be stored: what
// the writer needs, in its newResponse's allocation (the exchange copied,
// so that the caller's stays on its stack).
type pendingStore struct {
	s    *Session
	x    exchange
	f    found
	a    admission
	e    *stores.Entry
	resp *http.Response
	ctx  context.Context
}

// Finish is the streamed body's end (streambody.Owner): the entry is saved.
func (ps *pendingStore) Finish(body []byte) bool { return ps.save(body) }

// Background lets a body nobody reads any more be read to its end
// (streambody.Owner), within the session's background slots.
func (ps *pendingStore) Background(abort func()) (func(), bool) {
	return ps.s.completeInBackground(abort)
}

// save saves the entry with its complete body. The save outlives the
// caller's request: it happens when the body ends, whoever still reads.
func (ps *pendingStore) save(body []byte) bool {
	ps.e.Body = body
	stored, why := ps.s.write(detached(ps.ctx), &ps.x, &entryWrite{kind: writeNew, f: ps.f, a: ps.a, e: ps.e, resp: ps.resp})
	if !stored && why != "" {
		if ce := ps.s.log.Check(zap.DebugLevel, "reqcache: response not stored"); ce != nil {
			ce.Write(zap.String("key", ps.e.Key), zap.String("reason", string(why)))
		}
	}
	return stored
}

// detached is ctx without its cancellation and deadline (context.WithoutCancel),
// for work that outlives a caller; ctx itself when it has none (http.Get's
// Background), which costs no allocation.
func detached(ctx context.Context) context.Context {
	if ctx.Done() == nil {
		return ctx
	}
	return context.WithoutCancel(ctx)
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

// parseContentLength reads a Content-Length (-1 when it is not one).
func parseContentLength(v string) int64 {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 || v[0] == '+' {
		return -1
	}
	return n
}
