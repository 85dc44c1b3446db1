package rules

import (
	"net/http"
	"time"

	"github.com/reqcache/reqcache/config"
)

// This file decides what to do with what the cache holds for a request
// (RFC 9111 §4, with requests-cache's options): serve it, serve it stale,
// serve it stale and refresh it, revalidate it, go to the origin, or answer
// 504 for only-if-cached.

// Action is what to do for a request.
type Action int

// The actions, from the cheapest.
const (
	Fetch                Action = iota // go to the origin
	Serve                              // answer from the stored response
	ServeStale                         // answer from the stale stored response
	ServeStaleAndRefresh               // answer stale, refresh in the background
	Revalidate                         // a conditional request first
	GatewayTimeout                     // only-if-cached and nothing usable: 504
)

var actionNames = [...]string{"fetch", "serve", "serve-stale", "serve-stale-and-refresh", "revalidate", "gateway-timeout"}

func (a Action) String() string {
	if int(a) < len(actionNames) {
		return actionNames[a]
	}
	return "action?"
}

// Stored is what the decision needs of a stored response.
type Stored struct {
	Header                            http.Header
	RequestedAt, CreatedAt, ExpiresAt time.Time // ExpiresAt zero: never
}

// Expired reports whether s is stale at now.
func (s *Stored) Expired(now time.Time) bool {
	return !s.ExpiresAt.IsZero() && !now.Before(s.ExpiresAt)
}

// Request is what the decision needs of a request.
type Request struct {
	// Directives are the request's Cache-Control (with Pragma: no-cache
	// as no-cache); HasDirectives says it sent any.
	Directives    Directives
	HasDirectives bool
	// The per-request options (requests-cache's): answer only from the
	// cache, stale included; fetch whatever is stored; revalidate first.
	OnlyIfCached, ForceRefresh, Refresh bool
}

// Settings are the session settings the decision reads.
type Settings struct {
	CacheControl, AlwaysRevalidate, ReadOnly bool
	StaleWhileRevalidate                     config.StaleLimit
}

// Decide chooses what to do at now for req, given the stored response
// (nil when nothing is stored).
func Decide(now time.Time, stored *Stored, req *Request, set *Settings) Action {
	d := &req.Directives
	// requests-cache's only_if_cached serves whatever is stored, stale or
	// not, and never asks the origin, whatever else the request says; the
	// request directive only-if-cached keeps to RFC 9111 and serves stale
	// responses only within max-stale.
	if req.OnlyIfCached {
		switch {
		case stored == nil:
			return GatewayTimeout
		case stored.Expired(now):
			return ServeStale
		}
		return Serve
	}
	if stored == nil {
		if d.OnlyIfCached {
			return GatewayTimeout
		}
		return Fetch
	}
	if req.ForceRefresh {
		return Fetch
	}
	if req.Refresh || d.NoCache {
		if HasValidator(stored.Header) {
			return Revalidate
		}
		return Fetch
	}
	fresh := !stored.Expired(now)
	if req.HasDirectives && fresh {
		// §5.2.1.1 max-age and §5.2.1.3 min-fresh narrow freshness.
		if d.MaxAge >= 0 && CurrentAge(stored.Header, stored.RequestedAt, stored.CreatedAt, now) > d.MaxAge {
			fresh = false
		}
		if d.MinFresh >= 0 && !stored.ExpiresAt.IsZero() && stored.ExpiresAt.Sub(now) < d.MinFresh {
			fresh = false
		}
	}
	if fresh {
		if set.AlwaysRevalidate && HasValidator(stored.Header) {
			return Revalidate
		}
		return Serve
	}
	storedD := Absent()
	if set.CacheControl {
		storedD = Parse(stored.Header)
	}
	mustRevalidate := storedD.MustRevalidate || storedD.NoCache
	staleness := now.Sub(stored.ExpiresAt)
	if req.HasDirectives && d.MaxStale >= 0 && staleness <= d.MaxStale && !mustRevalidate {
		return ServeStale // §5.2.1.2 max-stale
	}
	if d.OnlyIfCached {
		return GatewayTimeout // §5.2.1.7
	}
	if !mustRevalidate && !set.ReadOnly && staleWhileRevalidate(set, &storedD, staleness) {
		return ServeStaleAndRefresh
	}
	if HasValidator(stored.Header) {
		return Revalidate
	}
	return Fetch
}

// staleWhileRevalidate reports whether a response stale by staleness may be
// served while it is refreshed: the setting, or with cache_control the
// response's own stale-while-revalidate directive (RFC 5861).
func staleWhileRevalidate(set *Settings, d *Directives, staleness time.Duration) bool {
	if set.StaleWhileRevalidate.Allows(staleness) {
		return true
	}
	return set.CacheControl && d.StaleWhileRevalidate >= 0 && staleness <= d.StaleWhileRevalidate
}

// StaleIfError reports whether a stored response may answer at now for a
// request whose trip failed: the stale_if_error setting, or with
// cache_control the response's own stale-if-error directive (RFC 5861),
// never past must-revalidate.
func StaleIfError(limit config.StaleLimit, cacheControl bool, stored *Stored, now time.Time) bool {
	staleness := max(0, now.Sub(stored.ExpiresAt))
	if stored.ExpiresAt.IsZero() {
		staleness = 0
	}
	if limit.Allows(staleness) {
		return true
	}
	if !cacheControl {
		return false
	}
	d := Parse(stored.Header)
	return d.StaleIfError >= 0 && staleness <= d.StaleIfError && !d.MustRevalidate
}
