package session

import (
	"context"
	"errors"
	"strconv"

	"go.uber.org/zap"

	"github.com/reqcache/reqcache/internal/urlindex"
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
	// an entry of its own (writer.go, validate.go).
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

// lookup finds the stored entry that may answer x where the URL's index
// says it may be (urlindex.Walk): its primary key, the variant its Vary
// headers select, a redirect alias's final response, the variant in the
// language it prefers. Store trouble is a miss, logged; a corrupt entry is
// deleted.
func (s *Session) lookup(x *exchange) found {
	var f found
	indexed, err := urlindex.Walk(x.req.Context(), x.p.keys, x.key, x.req.Header, s.reads.GetAlias, func(step urlindex.Step) bool {
		byLanguage := step.Via == urlindex.ViaLanguage
		e, lent, ok := s.get(x.req.Context(), step.Key)
		if !ok || !x.selects(e, byLanguage) {
			return false // (the primary key may hold another variant: the index says)
		}
		f.e, f.key, f.lent = e, step.Key, lent
		f.viaRedirect, f.byLanguage = step.Via == urlindex.ViaRedirect, byLanguage
		return true
	})
	if err != nil {
		s.storeError("get alias", err)
	}
	f.indexed = indexed
	return s.filtered(x, f)
}

// get reads one entry, lent by the store when it can (lent tells); ok is
// false on a miss, a store error (logged) or a corrupt entry (deleted and
// logged).
func (s *Session) get(ctx context.Context, key string) (e *stores.Entry, lent, ok bool) {
	var err error
	if s.opt.Peeker != nil {
		e, err = s.opt.Peeker.Peek(ctx, key)
	} else {
		e, err = s.reads.Get(ctx, key)
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
