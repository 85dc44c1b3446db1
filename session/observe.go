package session

import (
	"context"
	"net/http"
	"time"

	"github.com/reqcache/reqcache/internal/cachestatus"

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

// StoreEvent is one store operation. Op is one of the stores.Op constants
// ("get", "peek", "set", "delete", "get_alias", "set_alias",
// "delete_alias", "scan", "len", "clear", and those of the store's optional
// interfaces: "index_entry", "set_alias_for", "delete_uri",
// "acquire_lease", "release_lease", "add_alias", "scan_aliases",
// "delete_where", "bytes"); stores.Ops lists them.
type StoreEvent struct {
	Op       string
	Duration time.Duration
	Err      error // nil for success; stores.ErrNotFound is not an error here
}

// WithObserver has o observe the session's requests and store operations.
func WithObserver(o Observer) Option { return func(opts *options) { opts.observer = o } }

// requestEvent is what happened to one request, for the observer and the
// debug page alike.
func requestEvent(req *http.Request, resp *http.Response, err error, start time.Time) RequestEvent {
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
	return e
}

// observeRequest sends the event of one request to the observer.
func (s *Session) observeRequest(req *http.Request, e RequestEvent) {
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
	case c.status.Detail == cachestatus.DetailOnlyIfCached && resp.StatusCode == http.StatusGatewayTimeout:
		return OutcomeGatewayTimeout
	case c.status.Fwd == cachestatus.FwdBypass:
		return OutcomeBypass
	}
	return OutcomeMiss
}

// storeObserver tells o of the store's operations (stores.Observe,
// stores.Optional.Observed).
func storeObserver(o Observer) stores.OpObserver {
	return func(ctx context.Context, op string, d time.Duration, err error) {
		o.ObserveStore(ctx, StoreEvent{Op: op, Duration: d, Err: err})
	}
}
