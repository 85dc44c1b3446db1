package session

import (
	"strconv"
	"time"

	"github.com/reqcache/reqcache/internal/rules"
	"github.com/reqcache/reqcache/stores"
)

// This file hands what the cache holds for a request to the rules
// (internal/rules.Decide): serve it, serve it stale, revalidate it, or go
// to the origin.

// decide asks rules.Decide what to do with e (nil: nothing stored) for x.
func (s *Session) decide(x *exchange, e *stores.Entry) rules.Action {
	req := rules.Request{
		Directives:    x.reqD,
		HasDirectives: x.hasReqD,
		OnlyIfCached:  x.opts.onlyIfCached,
		ForceRefresh:  x.opts.forceRefresh,
		Refresh:       x.opts.refresh,
	}
	set := rules.Settings{
		CacheControl:         x.p.CacheControl,
		AlwaysRevalidate:     x.p.AlwaysRevalidate,
		ReadOnly:             x.p.ReadOnly,
		StaleWhileRevalidate: x.p.StaleWhileRevalidate,
	}
	if e == nil {
		return rules.Decide(s.now(), nil, &req, &set)
	}
	stored := storedOf(e)
	return rules.Decide(s.now(), &stored, &req, &set)
}

// storedOf is what the rules read of an entry.
func storedOf(e *stores.Entry) rules.Stored {
	return rules.Stored{Header: e.Header, RequestedAt: e.RequestedAt, CreatedAt: e.CreatedAt, ExpiresAt: e.ExpiresAt}
}

// staleIfError reports whether e may answer for a failed request.
func (s *Session) staleIfError(p *policy, e *stores.Entry, now time.Time) bool {
	stored := storedOf(e)
	return rules.StaleIfError(p.StaleIfError, p.CacheControl, &stored, now)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
