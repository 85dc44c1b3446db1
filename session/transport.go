package session

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/reqcache/reqcache/config"
	"github.com/reqcache/reqcache/internal/cachekey"
	"github.com/reqcache/reqcache/internal/rules"
	"github.com/reqcache/reqcache/stores"
)

// exchange is one request as the session sees it: computed once, passed
// through lookup, fetch and store.
type exchange struct {
	req     *http.Request
	p       *policy
	opts    requestOptions
	reqD    rules.Directives
	hasReqD bool
	reqExp  config.Expiration
	// ownExp: reqExp is the request's own (WithExpireAfter,
	// urls_expire_after), which heuristic freshness yields to.
	ownExp bool
	body   []byte // request body, read for the key
	// sendBody is the body to send when it was too large to read whole.
	sendBody io.ReadCloser
	key      string // primary key
	// aliasSeen: the primary key has an alias (Vary index or redirect).
	aliasSeen bool
	// primaryPlain: the primary key holds a response without Vary.
	primaryPlain bool
	// lent: the entry lookup found is the store's (stores.Peeker), to be
	// read, never changed.
	lent bool
}

// RoundTrip implements http.RoundTripper: it answers from the cache when it
// can, and otherwise forwards to the upstream and stores what it may. Each
// request is logged at debug level as "reqcache: request" (see
// docs/configuration.md, Logging, for the fields).
func (s *Session) RoundTrip(req *http.Request) (*http.Response, error) {
	var start time.Time
	if s.observer != nil {
		start = time.Now()
	}
	resp, err := s.roundTrip(req)
	if ce := s.log.Check(zap.DebugLevel, "reqcache: request"); ce != nil && req != nil && req.URL != nil {
		s.writeRequestEvent(ce, req, resp, err)
	}
	if s.observer != nil {
		s.observeRequest(req, resp, err, start)
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

func (s *Session) roundTrip(req *http.Request) (*http.Response, error) {
	if req == nil || req.URL == nil {
		return nil, errors.New("reqcache: nil request or URL")
	}
	if s.closed.Load() {
		return s.upstream.RoundTrip(req)
	}
	x := &exchange{req: req, p: s.policy.Load(), opts: optionsFrom(req.Context())}
	if x.opts.use == useDisabled || x.opts.use == useDefault && x.p.Disabled {
		return s.bypass(x, "disabled")
	}
	// Under only_if_cached (the setting or the context's) nothing reaches
	// the origin: what the cache cannot answer gets the 504.
	x.opts.onlyIfCached = x.opts.onlyIfCached || x.p.OnlyIfCached
	if isUpgrade(req) {
		if x.opts.onlyIfCached {
			return s.gatewayTimeout(x), nil
		}
		// A protocol switch (websocket, h2c) answers with a live
		// connection as its body: never looked up, read or stored.
		return s.upstream.RoundTrip(req)
	}
	method := cachekey.EffectiveMethod(req)
	if !x.p.methods[method] {
		if x.opts.onlyIfCached {
			return s.gatewayTimeout(x), nil
		}
		return s.passUnsafe(x, method)
	}
	x.reqExp, x.ownExp = x.p.requestExpiration(req, &x.opts)
	if x.reqExp.Kind() == config.NoCache {
		if x.opts.onlyIfCached {
			return s.gatewayTimeout(x), nil
		}
		return s.bypass(x, "do_not_cache")
	}
	if len(req.Header["Cache-Control"]) > 0 || len(req.Header["Pragma"]) > 0 {
		x.reqD = rules.Parse(req.Header)
		x.reqD.NoCache = x.reqD.NoCache || rules.PragmaNoCache(req.Header)
		x.hasReqD = true
	} else {
		x.reqD = rules.Absent()
	}
	if req.Body != nil && req.Body != http.NoBody {
		body, whole, err := readRequestBody(req, x.p.MaxBodyBytes)
		if err != nil {
			return nil, err
		}
		if whole != nil {
			if x.opts.onlyIfCached {
				whole.Close()
				return s.gatewayTimeout(x), nil
			}
			x.sendBody = whole
			return s.bypass(x, "request-too-large")
		}
		x.body = body
	}
	x.key = s.keyFor(x.p, req, x.body)

	var e *stores.Entry
	var entryKey string
	if !x.opts.forceRefresh || x.opts.onlyIfCached {
		e, entryKey = s.lookup(x)
	}
	act := s.decide(x, e)
	if x.lent && (e == nil || act != rules.Serve && act != rules.ServeStale || len(req.Header["Range"]) > 0) {
		// Only a plain hit reads the entry as the store lends it; the
		// other paths change it or keep it.
		if e != nil {
			e = ownEntry(e)
		}
		x.lent = false
	}
	if len(req.Header["Range"]) > 0 && (act != rules.GatewayTimeout || e == nil) {
		if act == rules.Serve {
			if resp := s.servePartial(x, e, entryKey); resp != nil {
				return resp, nil
			}
		}
		if resp := s.serveStoredPart(x); resp != nil {
			return resp, nil
		}
		if x.opts.onlyIfCached {
			return s.gatewayTimeout(x), nil
		}
		return s.passRange(x)
	}
	switch act {
	case rules.Serve:
		return s.serve(x, e, entryKey, false, ""), nil
	case rules.ServeStale:
		s.stats.stale.Add(1)
		return s.serve(x, e, entryKey, true, "max-stale"), nil
	case rules.ServeStaleAndRefresh:
		s.stats.stale.Add(1)
		s.refreshInBackground(x.onHeap(), e, entryKey)
		return s.serve(x, e, entryKey, true, "stale-while-revalidate"), nil
	case rules.GatewayTimeout:
		return s.gatewayTimeout(x), nil
	case rules.Revalidate:
		return s.fetchShared(x, e, entryKey, true)
	default:
		return s.fetchShared(x, e, entryKey, false)
	}
}

// onHeap copies x for the paths that keep it beyond the call (coalesced
// trips, background refreshes), so that x itself can live on the stack of
// a hit.
func (x *exchange) onHeap() *exchange {
	c := *x
	return &c
}

// readRequestBody reads the request body for the key without changing req
// (the RoundTripper contract): the caller's body is consumed and closed, and
// trips send a copy of the bytes (exchange.outgoing). When the body is larger
// than limit, whole is the body to send instead: what was read, then the
// rest, still streaming.
func readRequestBody(req *http.Request, limit int64) (body []byte, whole io.ReadCloser, err error) {
	if req.GetBody != nil {
		if rc, err := req.GetBody(); err == nil {
			body, err := io.ReadAll(io.LimitReader(rc, limit+1))
			rc.Close()
			if err == nil && int64(len(body)) <= limit {
				req.Body.Close()
				return body, nil, nil
			}
		}
	}
	prefix, err := io.ReadAll(io.LimitReader(req.Body, limit+1))
	if err != nil {
		req.Body.Close()
		return nil, nil, err
	}
	if int64(len(prefix)) > limit {
		return nil, struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(prefix), req.Body), req.Body}, nil
	}
	req.Body.Close()
	return prefix, nil, nil
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

// isUpgrade reports a request asking to switch protocols (RFC 9110 §7.8).
func isUpgrade(req *http.Request) bool {
	for _, v := range req.Header["Connection"] {
		for v != "" {
			var tok string
			tok, v, _ = strings.Cut(v, ",")
			if strings.EqualFold(strings.TrimSpace(tok), "upgrade") {
				return true
			}
		}
	}
	return false
}

// bypass sends the request upstream without reading or writing the cache.
func (s *Session) bypass(x *exchange, detail string) (*http.Response, error) {
	resp, err := s.upstream.RoundTrip(x.outgoing(x.req.Context()))
	if err != nil {
		return nil, err
	}
	info := Info{}
	setCacheStatus(resp.Header, cacheStatus(&info, "bypass", 0, time.Time{}, detail))
	return resp, nil
}

// passUnsafe forwards a request whose method is not cached and, for the
// unsafe methods, invalidates what is stored for its URL (RFC 9111 §4.4).
func (s *Session) passUnsafe(x *exchange, method string) (*http.Response, error) {
	requestedAt := s.now()
	resp, err := s.upstream.RoundTrip(x.req)
	if err != nil {
		return nil, err
	}
	receivedAt := s.now()
	if isUnsafe(method) && resp.StatusCode < 400 && !x.p.ReadOnly {
		s.invalidate(x.req.Context(), x.p, x.req, resp)
		if out, ok := s.storedAsGet(x, resp, requestedAt, receivedAt); ok {
			return out, nil
		}
	}
	setCacheStatus(resp.Header, cacheStatus(&Info{}, "bypass", 0, time.Time{}, "method"))
	return resp, nil
}

func isUnsafe(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return false
	}
	return true
}
