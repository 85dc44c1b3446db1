package session

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/reqcache/reqcache/stores"
)

// fetchResult is what one trip to the origin produced, in a form every
// coalesced caller can turn into its own response.
type fetchResult struct {
	err    error
	status int
	header http.Header // not to be modified: callers clone it
	body   []byte      // complete body; shared read-only
	// bodyErr: the body failed mid-read; callers see body then bodyErr.
	bodyErr error
	info    Info
	// fwd, fwdStatus and detail fill this cache's Cache-Status member.
	fwd       string
	fwdStatus int
	detail    string
	// shareable: coalesced callers may use this result. Responses that
	// were not stored (other than errors) are not shared: each waiter then
	// asks the origin itself.
	shareable bool
	// stream is set instead of body for a response too large to buffer;
	// only the leader may use it.
	stream  *http.Response
	release context.CancelFunc
	// reqHeader is the header of the request that made the trip: a
	// coalesced caller may use the result only when the response's Vary
	// selects it for its own request too.
	reqHeader http.Header
}

// discard closes a stream nobody will read.
func (r *fetchResult) discard() {
	if r == nil || r.stream == nil {
		return
	}
	r.stream.Body.Close()
	r.stream = nil
	if r.release != nil {
		r.release()
	}
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
	var res *fetchResult
	var shared, exclusive bool
	if ctx.Done() == nil {
		// The caller cannot leave, so the trip runs on its goroutine and x
		// can stay on its stack.
		res, shared, exclusive = s.flights.doHere(ctx, flightKey, func(fctx context.Context) *fetchResult {
			r := s.fetch(fctx, x, e, entryKey, revalidate)
			r.reqHeader = x.req.Header
			return r
		})
	} else {
		xh := x.onHeap() // the trip may outlive this call
		var err error
		res, shared, exclusive, err = s.flights.do(ctx, flightKey, func(fctx context.Context) *fetchResult {
			r := s.fetch(fctx, xh, e, entryKey, revalidate)
			r.reqHeader = xh.req.Header
			return r
		})
		if err != nil {
			return nil, err
		}
	}
	if shared && res.err == nil {
		// A result this caller may not use makes it ask the origin
		// itself: one that was not stored, or one whose Vary selects
		// another variant than this caller's request. (An error is shared:
		// the waiters asked at the same moment.)
		if !res.shareable || !x.p.keys.varyMatches(res.header, res.reqHeader, x.req.Header) {
			res = s.fetch(ctx, x, e, entryKey, revalidate)
			return s.respond(x, res, false, true)
		}
	}
	return s.respond(x, res, shared, exclusive)
}

// respond turns a result into this caller's own response. owned says no
// other caller sees res, so its header map can be handed over as it is.
func (s *Session) respond(x *exchange, res *fetchResult, shared, owned bool) (*http.Response, error) {
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
	var body io.ReadCloser = newBody(res.body)
	if res.bodyErr != nil {
		body = &failingBody{Reader: io.MultiReader(bytes.NewReader(res.body), errReader{res.bodyErr})}
	}
	h := res.header
	if !owned {
		h = h.Clone()
	}
	if shared {
		// The cookie was set for the caller that made the trip.
		delete(h, "Set-Cookie")
	}
	if h == nil {
		h = make(http.Header)
	}
	if x.req.Method == http.MethodHead {
		body = newBody(nil)
	}
	resp := &http.Response{
		Status:        statusLine(res.status),
		StatusCode:    res.status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        h,
		Body:          body,
		ContentLength: int64(len(res.body)),
		Request:       x.req,
	}
	if res.bodyErr != nil || x.req.Method == http.MethodHead {
		resp.ContentLength = -1
		if cl := h.Get("Content-Length"); cl != "" && x.req.Method == http.MethodHead {
			resp.ContentLength = parseContentLength(cl)
		}
	}
	if info.FromCache {
		s.stats.serve(0, int64(len(res.body)))
	}
	setCacheStatus(resp.Header, cacheStatus(&info, res.fwd, res.fwdStatus, s.now(), res.detail))
	attachInfo(resp, x.req, info)
	return resp, nil
}

// fetch makes one trip to the origin and stores what may be stored.
func (s *Session) fetch(ctx context.Context, x *exchange, e *stores.Entry, entryKey string, revalidate bool) *fetchResult {
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
	case x.opts.forceRefresh || x.opts.refresh || x.reqD.noCache:
		fwd = "request"
	case e != nil:
		fwd = "stale"
	}
	return s.receive(ctx, x, resp, fwd, requestedAt, receivedAt)
}

// receive reads a new response from the origin and stores it when allowed.
func (s *Session) receive(ctx context.Context, x *exchange, resp *http.Response, fwd string, requestedAt, receivedAt time.Time) *fetchResult {
	res := &fetchResult{status: resp.StatusCode, header: resp.Header, fwd: fwd, info: Info{Key: x.key}}
	if resp.ContentLength > x.p.MaxBodyBytes {
		res.stream = resp
		res.detail = "too-large"
		return res
	}
	body, err := readBody(resp.Body, resp.ContentLength, x.p.MaxBodyBytes)
	if err != nil {
		resp.Body.Close()
		res.body, res.bodyErr = body, err
		res.err = nil
		res.shareable = true // waiters share the failure, never a cache write
		res.detail = "body-error"
		return res
	}
	if int64(len(body)) > x.p.MaxBodyBytes {
		resp.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(body), resp.Body), resp.Body}
		res.stream = resp
		res.detail = "too-large"
		return res
	}
	resp.Body.Close()
	res.body = body
	stored, reason := s.save(ctx, x, resp, body, requestedAt, receivedAt, &res.info)
	if stored {
		res.shareable = true
		res.info.Stored = true
	} else if reason != "" {
		res.detail = reason
	}
	return res
}

// readBody reads at most limit+1 bytes of r. A body whose length is
// announced is read into a buffer of exactly that size (one allocation, no
// regrowing); one byte more is still looked for, so an upstream that sends
// more than it announced is not silently cut.
func readBody(r io.Reader, contentLength, limit int64) ([]byte, error) {
	if contentLength < 0 || contentLength > limit {
		return io.ReadAll(io.LimitReader(r, limit+1))
	}
	buf := make([]byte, contentLength, contentLength+1)
	n, err := io.ReadFull(r, buf)
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return buf[:n], err
	}
	var probe [1]byte
	m, err := io.ReadFull(r, probe[:])
	switch {
	case err == io.EOF:
		return buf, nil
	case err != nil:
		return buf, err
	}
	// More than announced: read on as if nothing had been announced.
	rest, err := io.ReadAll(io.LimitReader(r, limit-contentLength))
	return append(append(buf, probe[:m]...), rest...), err
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
		ce.Write(zap.String("key", x.key), x.p.keys.errorField(err, x.req))
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

type failingBody struct{ io.Reader }

func (*failingBody) Close() error { return nil }

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

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
