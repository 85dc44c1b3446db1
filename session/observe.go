package session

import (
	"context"
	"net/http"
	"time"

	"github.com/reqcache/reqcache/stores"
)

// This file lets metrics and tracing watch a session (contrib/prometheus,
// contrib/otel) without the library depending on them: an Observer is
// called once per request and once per store operation. With none set,
// nothing of this runs (a nil check per request; the store is not wrapped).

// Observer receives what a session did. Its methods run on the request's
// goroutine, synchronously: they must be quick and safe for concurrent use.
type Observer interface {
	// ObserveRequest is called once per request, when RoundTrip returns
	// (its response header is known; its body may still stream).
	ObserveRequest(ctx context.Context, e RequestEvent)
	// ObserveStore is called once per store operation.
	ObserveStore(ctx context.Context, e StoreEvent)
}

// Outcomes of a request, for RequestEvent.Outcome: a small fixed set, fit
// for a metric label.
const (
	OutcomeHit            = "hit"             // answered fresh from the cache
	OutcomeStale          = "stale"           // answered stale (stale-if-error, -while-revalidate, max-stale)
	OutcomeRevalidated    = "revalidated"     // a 304 refreshed the stored response
	OutcomeMiss           = "miss"            // fetched from the origin
	OutcomeBypass         = "bypass"          // the cache was not used (disabled, a method not cached, an upgrade)
	OutcomeGatewayTimeout = "gateway-timeout" // only-if-cached and nothing usable
	OutcomeError          = "error"           // RoundTrip returned an error
)

// RequestEvent is what happened to one request.
type RequestEvent struct {
	Method      string
	Outcome     string // one of the Outcome constants
	CacheStatus string // this cache's Cache-Status member, e.g. "reqcache; hit; ttl=42"
	Info        Info   // as InfoOf gives it; Stored is known once the body has ended
	// Bytes is the size of a body answered from the cache (0 otherwise).
	Bytes int64
	// Duration is from RoundTrip's start until it returned.
	Duration time.Duration
	Err      error
}

// StoreEvent is one store operation: "get", "peek", "set", "delete",
// "get_alias", "set_alias", "delete_alias", "scan", "len", "clear".
type StoreEvent struct {
	Op       string
	Duration time.Duration
	Err      error // nil for success; stores.ErrNotFound is not an error here
}

// WithObserver has o observe the session's requests and store operations.
func WithObserver(o Observer) Option { return func(opts *options) { opts.observer = o } }

// observeRequest builds and sends the event of one request.
func (s *Session) observeRequest(req *http.Request, resp *http.Response, err error, start time.Time) {
	e := RequestEvent{Duration: time.Since(start), Err: err}
	if req != nil {
		e.Method = req.Method
		if e.Method == "" {
			e.Method = http.MethodGet
		}
	}
	switch {
	case err != nil || resp == nil:
		e.Outcome = OutcomeError
	default:
		e.Info = InfoOf(resp)
		e.CacheStatus = resp.Header.Get("Cache-Status")
		e.Outcome = outcomeOf(resp)
		if e.Info.FromCache && resp.ContentLength > 0 {
			e.Bytes = resp.ContentLength
		}
	}
	ctx := context.Background()
	if req != nil {
		ctx = req.Context()
	}
	s.observer.ObserveRequest(ctx, e)
}

// outcomeOf reads a response's outcome from what the session recorded
// on it (the Info and the Cache-Status fields), never from the header.
func outcomeOf(resp *http.Response) string {
	c := contextOf(resp)
	switch {
	case c == nil: // passed through untouched (an upgrade)
		return OutcomeBypass
	case c.info.Revalidated:
		return OutcomeRevalidated
	case c.info.FromCache && c.info.Expired:
		return OutcomeStale
	case c.info.FromCache:
		return OutcomeHit
	case c.status.detail == detailOnlyIfCached && resp.StatusCode == http.StatusGatewayTimeout:
		return OutcomeGatewayTimeout
	case c.status.fwd == fwdBypass:
		return OutcomeBypass
	}
	return OutcomeMiss
}

// observedStore times every operation of a store for an Observer.
type observedStore struct {
	stores.Store
	o Observer
}

// observedPeeker is observedStore for a store that lends entries.
type observedPeeker struct {
	observedStore
	p stores.Peeker
}

func observe(st stores.Store, o Observer) stores.Store {
	w := observedStore{Store: st, o: o}
	if p, ok := st.(stores.Peeker); ok {
		return &observedPeeker{observedStore: w, p: p}
	}
	return &w
}

func (w *observedStore) done(ctx context.Context, op string, start time.Time, err error) {
	if err == stores.ErrNotFound {
		err = nil
	}
	if ctx == nil {
		ctx = context.Background()
	}
	w.o.ObserveStore(ctx, StoreEvent{Op: op, Duration: time.Since(start), Err: err})
}

func (w *observedPeeker) Peek(ctx context.Context, key string) (*stores.Entry, error) {
	start := time.Now()
	e, err := w.p.Peek(ctx, key)
	w.done(ctx, "peek", start, err)
	return e, err
}

func (w *observedStore) Get(ctx context.Context, key string) (*stores.Entry, error) {
	start := time.Now()
	e, err := w.Store.Get(ctx, key)
	w.done(ctx, "get", start, err)
	return e, err
}

func (w *observedStore) Set(ctx context.Context, e *stores.Entry) error {
	start := time.Now()
	err := w.Store.Set(ctx, e)
	w.done(ctx, "set", start, err)
	return err
}

func (w *observedStore) Delete(ctx context.Context, keys ...string) (int, error) {
	start := time.Now()
	n, err := w.Store.Delete(ctx, keys...)
	w.done(ctx, "delete", start, err)
	return n, err
}

func (w *observedStore) GetAlias(ctx context.Context, alias string) (string, error) {
	start := time.Now()
	v, err := w.Store.GetAlias(ctx, alias)
	w.done(ctx, "get_alias", start, err)
	return v, err
}

func (w *observedStore) SetAlias(ctx context.Context, alias, value string) error {
	start := time.Now()
	err := w.Store.SetAlias(ctx, alias, value)
	w.done(ctx, "set_alias", start, err)
	return err
}

func (w *observedStore) DeleteAlias(ctx context.Context, aliases ...string) error {
	start := time.Now()
	err := w.Store.DeleteAlias(ctx, aliases...)
	w.done(ctx, "delete_alias", start, err)
	return err
}

func (w *observedStore) Scan(ctx context.Context, fn func(*stores.Entry) bool) error {
	start := time.Now()
	err := w.Store.Scan(ctx, fn)
	w.done(ctx, "scan", start, err)
	return err
}

func (w *observedStore) Len(ctx context.Context) (int, error) {
	start := time.Now()
	n, err := w.Store.Len(ctx)
	w.done(ctx, "len", start, err)
	return n, err
}

func (w *observedStore) Clear(ctx context.Context) error {
	start := time.Now()
	err := w.Store.Clear(ctx)
	w.done(ctx, "clear", start, err)
	return err
}
