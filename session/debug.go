package session

import (
	"context"
	"net/http"

	"github.com/reqcache/reqcache/internal/debugpage"
)

// HandlerOption configures Cache.Handler.
type HandlerOption func(*debugpage.Options)

// AllowChanges lets the page delete an entry, delete the expired ones and
// clear the cache (POST forms carrying the page's CSRF token). Without it
// the page is read-only.
func AllowChanges() HandlerOption { return func(o *debugpage.Options) { o.AllowChanges = true } }

// Handler returns a page that shows the cache of a running program, like
// net/http/pprof: the overview (counters, store size, a chart of the last
// ten minutes, the last requests) at the mount point's root, "entries" (a
// filtered, paged table), "entry?key=…" (headers, redacted, and why it is
// or is not fresh), each also as JSON with ?format=json. Mount it on an
// internal listener:
//
//	mux.Handle("/debug/reqcache/", s.Cache().Handler())
//
// From the first Handler on, the session samples its counters every 5 s
// (until Close) and keeps its last 256 requests for the page.
func (c *Cache) Handler(opts ...HandlerOption) http.Handler {
	var o debugpage.Options
	for _, opt := range opts {
		opt(&o)
	}
	return debugpage.Handler(c.s.debugState(), o)
}

// debugState is the page's state, made at the first Handler. A session
// closed already gets one stopped at once: nothing runs after Close.
func (s *Session) debugState() *debugpage.State {
	s.lifeMu.Lock()
	defer s.lifeMu.Unlock()
	if st := s.debug.Load(); st != nil {
		return st
	}
	st := debugpage.NewState(s.debugSource(), 0)
	if s.closed.Load() {
		st.Close()
		return st
	}
	s.debug.Store(st)
	return st
}

// recordForPage keeps one request, as its event says, for the page's list
// of recent requests, its URL redacted.
func (s *Session) recordForPage(st *debugpage.State, req *http.Request, resp *http.Response, e RequestEvent) {
	if req == nil || req.URL == nil {
		return
	}
	status := 0
	if e.Outcome != OutcomeError {
		status = resp.StatusCode
	}
	st.Record(debugpage.Event{
		At: s.now(), Method: e.Method, URL: s.policy.Load().keys.RedactedURL(req.URL), Key: e.Info.Key,
		Status: status, Outcome: e.Outcome, CacheStatus: e.CacheStatus, Duration: e.Duration,
	})
}

// debugSource shows the session to the page.
func (s *Session) debugSource() debugpage.Source {
	c := s.Cache()
	return debugpage.Source{
		Backend: s.backend, MaxBytes: s.maxBytes, Store: s.reads, Now: s.now,
		Counters: func() debugpage.Counters { return debugpage.Counters(s.Stats()) },
		Bytes:    c.Bytes, Clear: c.Clear,
		Delete: func(ctx context.Context, key string) (int, error) {
			return c.Delete(ctx, Selector{Keys: []string{key}})
		},
		DeleteExpired: func(ctx context.Context) (int, error) { return c.Delete(ctx, Selector{Expired: true}) },
		RedactHeader:  func(h http.Header) http.Header { return s.policy.Load().keys.RedactedHeader(h) },
		RedactURL:     func(v string) string { return s.policy.Load().keys.RedactURLText(v) },
	}
}
