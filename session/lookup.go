package session

import (
	"strconv"
	"time"

	"github.com/reqcache/reqcache/stores"
)

// This file decides what to do with what the cache holds for a request:
// serve it, serve it stale, revalidate it, or go to the origin.

type action int

const (
	actFetch action = iota
	actServe
	actServeStale
	actServeStaleRefresh
	actRevalidate
	actGatewayTimeout
)

func (s *Session) decide(x *exchange, e *stores.Entry) action {
	onlyIfCached := x.opts.onlyIfCached || x.reqD.onlyIfCached
	if e == nil {
		if onlyIfCached {
			return actGatewayTimeout
		}
		return actFetch
	}
	if x.opts.forceRefresh {
		return actFetch
	}
	now := s.now()
	revalidate := x.opts.refresh || x.reqD.noCache
	if revalidate {
		if hasValidator(e.Header) {
			return actRevalidate
		}
		return actFetch
	}
	// requests-cache's only_if_cached serves whatever is stored, stale or
	// not; the request directive only-if-cached keeps to RFC 9111 and
	// serves stale entries only within max-stale.
	if x.opts.onlyIfCached {
		if e.Expired(now) {
			return actServeStale
		}
		return actServe
	}
	fresh := !e.Expired(now)
	if x.hasReqD && fresh {
		if x.reqD.maxAge >= 0 && currentAge(e, now) > x.reqD.maxAge {
			fresh = false
		}
		if x.reqD.minFresh >= 0 && !e.ExpiresAt.IsZero() && e.ExpiresAt.Sub(now) < x.reqD.minFresh {
			fresh = false
		}
	}
	if fresh {
		if x.p.AlwaysRevalidate && hasValidator(e.Header) {
			return actRevalidate
		}
		return actServe
	}
	var storedD directives
	if x.p.CacheControl {
		storedD = parseDirectives(e.Header)
	} else {
		storedD = absentDirectives()
	}
	mustRevalidate := storedD.mustRevalidate || storedD.noCache
	staleness := now.Sub(e.ExpiresAt)
	if x.hasReqD && x.reqD.maxStale >= 0 && staleness <= x.reqD.maxStale && !mustRevalidate {
		return actServeStale
	}
	if x.reqD.onlyIfCached {
		return actGatewayTimeout
	}
	if !mustRevalidate && !x.p.ReadOnly && s.staleWhileRevalidate(x.p, &storedD, staleness) {
		return actServeStaleRefresh
	}
	if hasValidator(e.Header) {
		return actRevalidate
	}
	return actFetch
}

// staleWhileRevalidate reports whether an entry stale by staleness may be
// served while it is refreshed: the setting, or with cache_control the
// response's own stale-while-revalidate directive.
func (s *Session) staleWhileRevalidate(p *policy, d *directives, staleness time.Duration) bool {
	if p.StaleWhileRevalidate.Allows(staleness) {
		return true
	}
	return p.CacheControl && d.staleWhileRevalidate >= 0 && staleness <= d.staleWhileRevalidate
}

// staleIfError reports whether an entry may answer for a failed request.
func (s *Session) staleIfError(p *policy, e *stores.Entry, now time.Time) bool {
	staleness := max(0, now.Sub(e.ExpiresAt))
	if e.ExpiresAt.IsZero() {
		staleness = 0
	}
	if p.StaleIfError.Allows(staleness) {
		return true
	}
	if !p.CacheControl {
		return false
	}
	d := parseDirectives(e.Header)
	return d.staleIfError >= 0 && staleness <= d.staleIfError && !d.mustRevalidate
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
