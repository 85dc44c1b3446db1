package session

import (
	"context"
	"errors"
	"strconv"

	"go.uber.org/zap"

	"github.com/reqcache/reqcache/internal/cachekey"
	"github.com/reqcache/reqcache/stores"
)

// This file finds what the cache holds for a request (through the index of
// its URL's keys, index.go) and returns it as a value: the decision, the
// trip and the write that follow read it; nothing is left on the exchange.

// found is what lookup found for a request.
type found struct {
	// e is the entry that may answer the request (nil: none), under key.
	// Nothing writes to it: when lent it is the store's own copy
	// (stores.Peeker), and serve copies its header; every write builds
	// an entry of its own (store.go, validate.go).
	e    *stores.Entry
	key  string
	lent bool
	// byLanguage: e is the variant in the language the request prefers,
	// not the one its exact Accept-Language selects.
	byLanguage bool
	// indexed: the primary key holds an alias (a Vary index or a
	// redirect), for a plain write that follows. (A variant's write reads
	// what the primary key holds then: indexVariant.)
	indexed bool
	// viaRedirect: e is the final response of a redirect the request's
	// URL made once (a redirect alias), another resource's.
	viaRedirect bool
}

// lookup finds the stored entry that may answer x, following the Vary
// index, a redirect alias or the language alias. Store trouble is a miss,
// logged; a corrupt entry is deleted.
func (s *Session) lookup(x *exchange) found {
	var f found
	if e, lent, ok := s.get(x.req.Context(), x.key); ok {
		if x.selects(e, false) {
			f.e, f.key, f.lent = e, x.key, lent
			return s.filtered(x, f)
		}
		// The primary key holds another variant: consult the index.
	}
	alias, err := s.store.GetAlias(x.req.Context(), x.key)
	if err != nil {
		if !errors.Is(err, stores.ErrNotFound) {
			s.storeError("get alias", err)
		}
		return f
	}
	f.indexed = true
	target, idx, isIndex := x.target(alias)
	if target == "" || target == x.key {
		return f
	}
	if e, lent, ok := s.get(x.req.Context(), target); ok && x.selects(e, false) {
		f.e, f.key, f.lent, f.viaRedirect = e, target, lent, !isIndex
		return s.filtered(x, f)
	}
	if isIndex && len(idx.Names) == 1 && idx.Names[0] == "Accept-Language" {
		return s.languageVariant(x, f)
	}
	return f
}

// languageVariant finds, for a request whose exact Accept-Language has no
// stored variant, the variant in the language it prefers above all others:
// the response an origin negotiating on Accept-Language gives it too.
func (s *Session) languageVariant(x *exchange, f found) found {
	top := cachekey.TopLanguage(x.req.Header)
	if top == "" {
		return f
	}
	target, err := s.store.GetAlias(x.req.Context(), languageKey(x.key, top))
	if err != nil {
		if !errors.Is(err, stores.ErrNotFound) {
			s.storeError("get alias", err)
		}
		return f
	}
	if e, lent, ok := s.get(x.req.Context(), target); ok && x.selects(e, true) {
		f.e, f.key, f.lent, f.byLanguage = e, target, lent, true
		return s.filtered(x, f)
	}
	return f
}

// get reads one entry, lent by the store when it can (lent tells); ok is
// false on a miss, a store error (logged) or a corrupt entry (deleted and
// logged).
func (s *Session) get(ctx context.Context, key string) (e *stores.Entry, lent, ok bool) {
	var err error
	if s.opt.Peeker != nil {
		e, err = s.opt.Peeker.Peek(ctx, key)
	} else {
		e, err = s.store.Get(ctx, key)
	}
	switch {
	case err == nil && s.owed(ctx, e):
		// Its resource's invalidation is owed: it may be the old answer.
	case err == nil:
		return e, s.opt.Peeker != nil, true
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
	return nil, false, false
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
