package session

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/reqcache/reqcache/internal/cachestatus"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/reqcache/reqcache/config"
	"github.com/reqcache/reqcache/internal/cachekey"
	"github.com/reqcache/reqcache/internal/reqbody"
	"github.com/reqcache/reqcache/internal/rules"
)

// exchange is one request as the session sees it: computed once, passed
// through lookup, the decisions, the trip and the write.
type exchange struct {
	req *http.Request
	p   *policy
	// rq is what the rules read of the request: its directives, the
	// context's options (set when the exchange is made) and the
	// expiration chosen before the response is known.
	rq rules.Request
	// expireAfter is the context's WithExpireAfter, for rq's expiration.
	expireAfter config.Expiration
	body        []byte // request body, read for the key
	// sendBody is the body to send when it was too large to read whole.
	sendBody io.ReadCloser
	key      string // primary key
	uri      string // the resource's name (uriKey), once computed
	// up is where the exchange's trips go: the session's upstream, or the
	// one RoundTripVia names.
	up http.RoundTripper
	// since is the session's invalidation count when the exchange began:
	// what its trips bring is not written over a later invalidation.
	since uint64
	// bodyCredentials: the request that produced the response carried
	// credentials in a body the key does not hold (a POST stored as its
	// URL's GET): admit refuses it under separate_credentials.
	bodyCredentials bool
}

// uriKey names the resource x is for (stores.Entry.URIKey).
func (x *exchange) uriKey() string {
	if x.uri == "" {
		x.uri = x.p.keys.URIKey(x.req)
	}
	return x.uri
}

// RoundTrip implements http.RoundTripper: it answers from the cache when it
// can, and otherwise forwards to the upstream and stores what it may. Each
// request is logged at debug level as "reqcache: request" (see
// docs/configuration.md, Logging, for the fields).
func (s *Session) RoundTrip(req *http.Request) (*http.Response, error) {
	return s.RoundTripVia(req, s.upstream)
}

// RoundTripVia is RoundTrip with this request's trips to the origin sent
// through up instead of the session's upstream: the cache in front of a
// transport a library keeps (its TLS, proxy and connection pool), as
// reqcache.Transport does.
func (s *Session) RoundTripVia(req *http.Request, up http.RoundTripper) (*http.Response, error) {
	var start time.Time
	page := s.debug.Load() // nil until a debug page exists
	if s.observer != nil || page != nil {
		start = time.Now()
	}
	resp, err := s.roundTrip(req, up)
	if ce := s.log.Check(zap.DebugLevel, "reqcache: request"); ce != nil && req != nil && req.URL != nil {
		s.writeRequestEvent(ce, req, resp, err)
	}
	if s.observer != nil || page != nil {
		e := requestEvent(req, resp, err, start)
		if s.observer != nil {
			s.observeRequest(req, e)
		}
		if page != nil {
			s.recordForPage(page, req, resp, e)
		}
	}
	return resp, err
}

// writeRequestEvent fills the debug event of one request: credentials
// redacted from the URL and the error.
func (s *Session) writeRequestEvent(ce *zapcore.CheckedEntry, req *http.Request, resp *http.Response, err error) {
	keys := s.policy.Load().keys
	fields := []zap.Field{zap.String("method", req.Method), zap.String("url", keys.RedactedURL(req.URL))}
	if err != nil {
		fields = append(fields, errorField(keys, err, req))
	}
	if resp != nil {
		info := InfoOf(resp)
		fields = append(fields, zap.Int("status", resp.StatusCode),
			zap.String("cache_status", resp.Header.Get("Cache-Status")),
			zap.Bool("from_cache", info.FromCache), zap.String("key", info.Key))
	}
	ce.Write(fields...)
}

func (s *Session) roundTrip(req *http.Request, up http.RoundTripper) (*http.Response, error) {
	if req == nil || req.URL == nil {
		return nil, errors.New("reqcache: nil request or URL")
	}
	if s.closed.Load() {
		return send(up, req)
	}
	req = withCanonicalHeader(req)
	ex, use := s.newExchange(req, up)
	x := &ex // a value until here, so that a hit's exchange stays on its stack
	if resp, err := s.passOn(x, use); resp != nil || err != nil {
		return resp, err
	}
	if resp, err := s.readBody(x); resp != nil || err != nil {
		return resp, err
	}
	x.key, x.uri = s.keyAndURIFor(x.p, req, x.body)
	f, d := s.find(x)
	if isRangeRequest(req.Header) {
		return s.rangeRequest(x, f, d)
	}
	return s.carryOut(x, f, d)
}

// newExchange is req as the session sees it from the start: the policy
// in force, the context's options (with the only_if_cached setting: what
// the cache cannot answer gets the 504) and the invalidation count, and
// the context's Disabled or Enabled.
func (s *Session) newExchange(req *http.Request, up http.RoundTripper) (exchange, cacheUse) {
	opts := optionsFrom(req.Context())
	x := exchange{req: req, p: s.policy.Load(), expireAfter: opts.expireAfter, up: up, since: s.invalidated.Now()}
	x.rq.Options = opts.Options
	x.rq.OnlyIfCached = x.rq.OnlyIfCached || x.p.OnlyIfCached
	return x, opts.use
}

// passOn answers the requests the cache does not look up: protocol
// switches, requests under Disabled, methods it does not cache (and
// tunnelled ones), and do_not_cache; the rest (nil, nil) have x.rq read.
// use is the context's Disabled or Enabled.
func (s *Session) passOn(x *exchange, use cacheUse) (*http.Response, error) {
	req := x.req
	disabled := use == useDisabled || use == useDefault && x.p.Disabled
	method := cachekey.Method(req)
	override, overridden := cachekey.MethodOverride(req)
	switch {
	case rules.IsUpgrade(req.Header):
		if x.rq.OnlyIfCached && !disabled {
			return s.gatewayTimeout(x), nil
		}
		// A protocol switch (websocket, h2c) answers with a live
		// connection as its body: never looked up, read or stored.
		return send(x.up, req)
	case disabled || overridden || !x.p.methods[method]:
		if x.rq.OnlyIfCached && !disabled {
			return s.gatewayTimeout(x), nil
		}
		why := cachestatus.DetailMethod
		switch {
		case disabled:
			why = cachestatus.DetailDisabled
		case overridden:
			// The origin may or may not honour the tunnelled method: the
			// cache answers and keeps neither (cachekey.MethodOverride).
			why = cachestatus.DetailMethodOverride
		}
		return s.passThrough(x, why, rules.IsUnsafe(method) || overridden && rules.IsUnsafe(override))
	}
	x.readRequest()
	if x.rq.Expiration.Kind() == config.NoCache {
		if x.rq.OnlyIfCached {
			return s.gatewayTimeout(x), nil
		}
		return s.bypass(x, cachestatus.DetailDoNotCache)
	}
	return nil, nil
}

// readBody reads the request's body into x.body for its key (a POST's);
// one larger than max_body_bytes is sent on as it came, not cached
// (nil, nil: read, or none).
func (s *Session) readBody(x *exchange) (*http.Response, error) {
	if x.req.Body == nil || x.req.Body == http.NoBody {
		return nil, nil
	}
	body, whole, err := reqbody.Read(x.req, x.p.MaxBodyBytes)
	if err != nil {
		return nil, err
	}
	if whole != nil {
		x.sendBody = whole
		if x.rq.OnlyIfCached {
			return s.gatewayTimeout(x), nil
		}
		return s.bypass(x, cachestatus.DetailRequestTooLarge)
	}
	x.body = body
	return nil, nil
}

// find looks x up and decides what the response it found (if any) may do.
func (s *Session) find(x *exchange) (found, rules.Decision) {
	f := s.lookup(x)
	d := s.decide(x, f.e, false)
	if f.viaRedirect && d.Action != rules.Serve && d.Action != rules.ServeStale {
		// A redirect alias answers only as it is: its entry is another
		// resource's, whose validators and fallback are not this URL's
		// (a 304 speaks only for the resource it was asked about). The
		// URL is fetched as if nothing were stored for it.
		f = found{indexed: f.indexed}
		d = s.decide(x, nil, false)
	}
	return f, d
}

// carryOut answers x as the decision says: from the store, stale (and
// refreshed in the background), a 504, or through a trip to the origin
// (a revalidation, or a miss), shared with the callers that join it.
func (s *Session) carryOut(x *exchange, f found, d rules.Decision) (*http.Response, error) {
	switch d.Action {
	case rules.Serve:
		return s.serve(x, f.e, f.key, f.lent, answered{at: d.At}), nil
	case rules.ServeStale:
		return s.serve(x, f.e, f.key, f.lent, answered{stale: true, reason: d.Reason, at: d.At}), nil
	case rules.ServeStaleAndRefresh:
		s.refreshInBackground(x.onHeap(), f)
		return s.serve(x, f.e, f.key, true, answered{stale: true, reason: d.Reason, at: d.At}), nil
	case rules.GatewayTimeout:
		return s.gatewayTimeout(x), nil
	case rules.Revalidate:
		return s.fetchShared(x, f, true)
	default:
		return s.fetchShared(x, f, false)
	}
}

// readRequest fills x.rq, what the rules read of x's request: its
// options, the expiration chosen before the response is known, and its
// Cache-Control and Pragma directives. Every exchange that reaches the
// rules is read here (a request, a POST stored as its GET, an import).
func (x *exchange) readRequest() {
	x.rq = rules.Request{Options: x.rq.Options}
	x.rq.Expiration, x.rq.WrittenExpiration, x.rq.ExpirationFrom = x.p.requestExpiration(x.req, x.expireAfter)
	if h := x.req.Header; len(h["Cache-Control"]) > 0 || len(h["Pragma"]) > 0 {
		x.rq.Directives = rules.Parse(h)
		x.rq.Directives.NoCache = x.rq.Directives.NoCache || rules.PragmaNoCache(h)
		x.rq.HasDirectives = true
	} else {
		x.rq.Directives = rules.Absent()
	}
}

// onHeap copies x for the paths that keep it beyond the call (coalesced
// trips, background refreshes), so that x itself can live on the stack of
// a hit.
func (x *exchange) onHeap() *exchange {
	c := *x
	return &c
}

// outgoing is the request a trip sends upstream: the caller's own when
// nothing differs, else a shallow copy under ctx with a fresh reader of the
// body read for the key (the caller's request is never changed).
func (x *exchange) outgoing(ctx context.Context) *http.Request {
	if ctx == x.req.Context() && x.body == nil && x.sendBody == nil {
		return x.req
	}
	out := x.req.WithContext(ctx)
	switch {
	case x.sendBody != nil:
		out.Body, out.GetBody = x.sendBody, nil
	case x.body != nil:
		body := x.body
		out.Body = io.NopCloser(bytes.NewReader(body))
		out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	}
	return out
}

// send is the one way to the upstream: every trip takes it. A response
// with a nil Body (net/http's Client accepts one from a RoundTripper, and
// test doubles return one) gets an empty one, so that nothing downstream
// reads a nil body.
func send(up http.RoundTripper, req *http.Request) (*http.Response, error) {
	resp, err := up.RoundTrip(req)
	if err == nil && resp != nil && resp.Body == nil {
		resp.Body = http.NoBody
	}
	return resp, err
}

// bypass sends the request upstream without reading or writing the cache.
func (s *Session) bypass(x *exchange, why cachestatus.Detail) (*http.Response, error) {
	resp, err := send(x.up, x.outgoing(x.req.Context()))
	if err != nil {
		return nil, err
	}
	annotate(resp, x.req, Info{}, cachestatus.Status{Fwd: cachestatus.FwdBypass, Detail: why})
	return resp, nil
}

// passThrough forwards a request the cache does not answer — a method not
// cached, a method override, the cache disabled — and, when it is unsafe
// and succeeds, makes what is stored for its URI unusable (RFC 9111 §4.4;
// invalidate.go): Disabled keeps the cache from being read or written, not
// from learning that what it holds has changed. read_only never changes
// the store.
func (s *Session) passThrough(x *exchange, why cachestatus.Detail, unsafe bool) (*http.Response, error) {
	requestedAt := s.now()
	resp, err := send(x.up, x.req)
	if err != nil {
		return nil, err
	}
	receivedAt := s.now()
	if unsafe && resp.StatusCode < 400 && !x.p.ReadOnly {
		s.invalidate(x.req.Context(), x, resp)
		if why == cachestatus.DetailMethod && x.req.Method == http.MethodPost {
			out, refusal, ok := s.storedAsGet(x, resp, requestedAt, receivedAt)
			if ok {
				return out, nil
			}
			if refusal == cachestatus.DetailBodyCredentials {
				why = refusal // it named its URL, and was kept from the GET for its body
			}
		}
	}
	annotate(resp, x.req, Info{}, cachestatus.Status{Fwd: cachestatus.FwdBypass, Detail: why})
	return resp, nil
}

// withCanonicalHeader is req, or, when a header name in it is not in
// canonical form, a shallow copy with every name canonical. Azure's SDKs
// write "x-ms-range" and "x-ms-date" straight into the map: the wire is the
// same, but every lookup the cache makes (Header.Get, the key's header
// lists) would miss them, and a ranged read was answered with a whole
// stored body.
func withCanonicalHeader(req *http.Request) *http.Request {
	canonical := true
	for name := range req.Header {
		if http.CanonicalHeaderKey(name) != name {
			canonical = false
			break
		}
	}
	if canonical {
		return req
	}
	h := make(http.Header, len(req.Header))
	for name, vs := range req.Header {
		c := http.CanonicalHeaderKey(name)
		h[c] = append(h[c], vs...)
	}
	out := *req
	out.Header = h
	return &out
}
