package session

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/reqcache/reqcache/internal/rules"
	"github.com/reqcache/reqcache/stores"
)

// This file finds what the cache holds for a request (through Vary indexes
// and redirect aliases) and hands it to the rules (internal/rules.Decide):
// serve it, serve it stale, revalidate it, or go to the origin.

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

// lookup finds the stored entry for the exchange, following a Vary index
// or a redirect alias. Store trouble is a miss, logged; a corrupt entry is
// deleted.
func (s *Session) lookup(x *exchange) (*stores.Entry, string) {
	ctx := x.req.Context()
	e, ok := s.get(x, x.key)
	if ok {
		if len(e.Header["Vary"]) == 0 {
			x.primaryPlain = true
			return s.usable(x, e, x.key)
		}
		if x.p.keys.VaryMatches(e.Header, e.RequestHeader, x.req.Header) {
			return s.usable(x, e, x.key)
		}
		// The primary key holds another variant: consult the index.
	}
	alias, err := s.store.GetAlias(ctx, x.key)
	if err != nil {
		if !errors.Is(err, stores.ErrNotFound) {
			s.storeError("get alias", err)
		}
		return nil, ""
	}
	x.aliasSeen = true
	var target string
	if idx, ok := decodeVaryIndex(alias); ok {
		target = x.p.keys.VariantKey(x.key, idx.names, x.req.Header)
	} else if t, ok := strings.CutPrefix(alias, aliasRedirect); ok {
		target = t
	} else {
		return nil, ""
	}
	if target == x.key {
		return nil, ""
	}
	if e, ok := s.get(x, target); ok {
		if len(e.Header["Vary"]) > 0 && !x.p.keys.VaryMatches(e.Header, e.RequestHeader, x.req.Header) {
			return nil, ""
		}
		return s.usable(x, e, target)
	}
	if idx, ok := decodeVaryIndex(alias); ok && len(idx.names) == 1 && idx.names[0] == "Accept-Language" {
		return s.languageVariant(x)
	}
	return nil, ""
}

// usable applies the filter, retroactively: an entry it now rejects is
// deleted and not used.
func (s *Session) usable(x *exchange, e *stores.Entry, key string) (*stores.Entry, string) {
	if s.filter != nil {
		resp := responseFrom(cloneEntry(e), x.req, nil)
		if !s.filter(resp) {
			if !x.p.ReadOnly {
				s.deleteKeys(x.req.Context(), key)
			}
			return nil, ""
		}
	}
	return e, key
}

// get reads one entry, lent by the store when it can (x.lent tells); ok is
// false on a miss, a store error (logged) or a corrupt entry (deleted and
// logged).
func (s *Session) get(x *exchange, key string) (*stores.Entry, bool) {
	ctx := x.req.Context()
	var e *stores.Entry
	var err error
	if s.peeker != nil {
		e, err = s.peeker.Peek(ctx, key)
	} else {
		e, err = s.store.Get(ctx, key)
	}
	switch {
	case err == nil:
		x.lent = s.peeker != nil
		return e, true
	case errors.Is(err, stores.ErrNotFound):
	case errors.Is(err, stores.ErrCorrupt):
		s.stats.corrupt.Add(1)
		if ce := s.log.Check(zap.WarnLevel, "reqcache: corrupt cache entry deleted"); ce != nil {
			ce.Write(zap.String("key", key), zap.Error(err))
		}
		s.deleteKeys(ctx, key)
	default:
		s.storeError("get", err)
	}
	return nil, false
}

func (s *Session) deleteKeys(ctx context.Context, keys ...string) {
	if _, err := s.store.Delete(ctx, keys...); err != nil {
		s.storeError("delete", err)
	}
}
