package session

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"go.uber.org/zap"

	"github.com/reqcache/reqcache/internal/cachekey"
	"github.com/reqcache/reqcache/internal/cachestatus"
	"github.com/reqcache/reqcache/internal/rules"
	"github.com/reqcache/reqcache/internal/urlindex"
	"github.com/reqcache/reqcache/stores"
)

// This file is the one writer: the only code that writes or deletes what
// the store holds. The rest of the session reads through s.reads, a
// stores.Reader without write methods; s.writes, the store itself, is
// used here alone (TestOnlyTheWriterWrites checks it).
//
// An entry is written by write, and only with the admission admit made for
// it from the exchange that produced it (admit.go) — a miss, a refresh, a
// POST stored as its GET, parts made whole, a part, a 304 merge, an import.
// write redacts every URL-bearing field it stores (redactStored), applies
// the filter, files the entry under its resource and index, and keeps no
// write an invalidation overtook (internal/marks). Deletions — invalidation,
// corrupt entries, the filter's retroactive refusals, Cache.Delete, Clear —
// and the aliases (Vary index, language, redirect) are here too.

// writeKind is what an entry being written is.
type writeKind uint8

const (
	// writeNew: a response from the origin (a miss, a refresh, a POST
	// stored as its GET, parts joined into the whole response).
	writeNew writeKind = iota
	// writePart: a 206 kept as its URL's part (ranges.go).
	writePart
	// writeMerge: a stored entry a 304 updated (validate.go).
	writeMerge
	// writeImport: a line of an export (export.go).
	writeImport
)

// entryWrite is one entry on its way into the store, for the exchange
// that produced it (write's x: a parameter of its own, so that a hit's
// exchange stays on its stack — escape analysis does not tell a struct's
// fields apart, and the entry escapes into the store).
type entryWrite struct {
	kind writeKind
	// f is what lookup found for x: what the primary key held when x
	// began (a plain write replaces an index there).
	f found
	a admission // admit's decision for it
	e *stores.Entry
	// resp is the response, for the filter (nil: made from e).
	resp *http.Response
	// rekeyed is set for an import whose key was derived from its
	// request (its Vary index is rebuilt).
	rekeyed bool
}

// write stores w.e, its body complete, when admit let it in, the filter
// accepts it and no invalidation of its resource came after its exchange
// began; it files the entry under its resource, its Vary index and the
// redirect aliases that lead to it. It reports why not otherwise. A merge
// that may no longer be stored deletes the entry it updated.
func (s *Session) write(ctx context.Context, x *exchange, w *entryWrite) (bool, cachestatus.Detail) {
	e := w.e
	if x.p.ReadOnly {
		return false, cachestatus.DetailReadOnly
	}
	refuse := func(why cachestatus.Detail) (bool, cachestatus.Detail) {
		if w.kind == writeMerge {
			s.deleteKeys(ctx, e.Key) // the entry it updated may no longer answer
		}
		return false, why
	}
	if !w.a.Store {
		return refuse(w.a.refused)
	}
	redactStored(x.p.keys, e)
	// Derived here, from what is stored, whatever wrote it (a 304's merge
	// moves Date and CreatedAt): every later answer's Age reads it.
	e.GeneratedAt = rules.GeneratedAt(e.Header, e.RequestedAt, e.CreatedAt)
	if s.filter != nil && w.kind != writePart && !s.filter(s.filterProbe(x, w)) {
		return refuse(cachestatus.DetailFilter)
	}
	if w.kind == writeNew || w.kind == writeImport && w.rekeyed {
		switch {
		case e.Key != x.key:
			// The primary key's lookup finds this variant through the
			// index. (A variant stored under the primary key needs none:
			// requests that do not match it look the index up anyway.)
			s.indexVariant(ctx, x, w.a.names, e.Key, e.Header)
		case len(w.a.names) == 0 && w.f.indexed:
			// A plain response replaces a Vary index or redirect alias.
			if err := s.writes.DeleteAlias(ctx, x.key); err != nil {
				s.storeError("delete alias", err)
			}
		}
	}
	if s.overtaken(x, e.URIKey) {
		return refuse(cachestatus.DetailInvalidated)
	}
	if err := s.writes.Set(ctx, e); err != nil {
		if errors.Is(err, stores.ErrTooLarge) {
			if ce := s.log.Check(zap.DebugLevel, "reqcache: response too large for the store, not cached"); ce != nil {
				ce.Write(zap.String("key", e.Key), zap.Int("bytes", len(e.Body)))
			}
			return false, cachestatus.DetailTooLarge
		}
		if errors.Is(err, stores.ErrOvertaken) {
			return false, cachestatus.DetailInvalidated // by another process, after this exchange began
		}
		s.storeError("set", err)
		return false, cachestatus.DetailStoreError
	}
	if w.kind != writeMerge {
		s.listEntry(ctx, x.p, x.req, x.body, x.key, e)
	}
	if w.kind == writeNew {
		s.aliasRedirects(ctx, x, e.Key)
	}
	if s.overtaken(x, e.URIKey) {
		// The invalidation came while it was written.
		s.deleteKeys(ctx, e.Key)
		return false, cachestatus.DetailInvalidated
	}
	if ce := s.log.Check(zap.DebugLevel, "reqcache: stored"); ce != nil {
		ce.Write(zap.String("key", e.Key), zap.String("url", e.URL), zap.Int("status", e.StatusCode), zap.Time("expires", e.ExpiresAt))
	}
	return true, cachestatus.DetailNone
}

// filterProbe is the response the filter judges a write by: the
// response itself with the entry's body, or one made from the entry.
func (s *Session) filterProbe(x *exchange, w *entryWrite) *http.Response {
	if w.resp == nil {
		return responseFrom(cloneEntry(w.e), x.req, nil)
	}
	probe := *w.resp
	probe.Header = w.resp.Header.Clone()
	probe.Body = newBody(w.e.Body)
	return &probe
}

// redactStored redacts every URL-bearing field of an entry about to be
// stored: its URL, its response's Location and Content-Location, and its
// request's credential headers and Referer. Each is copied only when it
// holds something to redact (entries built by entryFor hold nothing; a
// 304's Content-Location or an imported line may).
func redactStored(keys *cachekey.Keyer, e *stores.Entry) {
	if keys.HasCredentials(e.URL) {
		e.URL = keys.RedactURLText(e.URL)
	}
	cloned := false
	for _, name := range []string{"Location", "Content-Location"} {
		vs := e.Header[name]
		for i, v := range vs {
			if !keys.HasCredentials(v) {
				continue
			}
			if !cloned {
				e.Header, cloned = e.Header.Clone(), true // it may be the response's own map, or the store's
				vs = e.Header[name]
			}
			vs[i] = keys.RedactURLText(v)
		}
	}
	e.RequestHeader = keys.RedactHeader(e.RequestHeader)
}

// overtaken reports an invalidation of uri after x began (internal/marks):
// a write x's trip brings is checked before (not made) and after (deleted:
// the invalidation came while it was written).
func (s *Session) overtaken(x *exchange, uri string) bool { return s.invalidated.Since(uri, x.since) }

// indexVariant records a variant key under the primary key's Vary index
// (and under its language, for languageVariant), and removes a plain entry
// the primary key holds (it would answer every request).
func (s *Session) indexVariant(ctx context.Context, x *exchange, names []string, key string, header http.Header) {
	var idx cachekey.VaryIndex
	if v, err := s.reads.GetAlias(ctx, x.key); err == nil {
		idx, _ = cachekey.DecodeVaryIndex(v)
	} else if !errors.Is(err, stores.ErrNotFound) {
		s.storeError("get alias", err)
	}
	next := idx.WithVariant(names, key)
	if next.Encode() != idx.Encode() {
		s.setAlias(ctx, x.uriKey(), x.key, next.Encode())
	}
	if lang := languageOf(header); lang != "" {
		s.setAlias(ctx, x.uriKey(), urlindex.Language(x.key, lang), key)
	}
	// What the primary key holds now, not what lookup found when x began:
	// a trip for the same URL may have stored a plain response since
	// (the oracle's reuse/not-most-recent, seed 40156). One more read per
	// variant written.
	if e, _, ok := s.get(ctx, x.key); ok && !sameNames(e.Header["Vary"], names) {
		// A response without Vary would answer every request, and one
		// varying on other headers is older than the origin's
		// negotiation now: the new variant supersedes both.
		s.deleteKeys(ctx, x.key)
	}
}

// sameNames reports whether a Vary header names exactly names.
func sameNames(vary []string, names []string) bool {
	got, _ := cachekey.VaryNames(http.Header{"Vary": vary})
	return slices.Equal(got, names)
}

// aliasRedirects points the keys of the earlier hops of a redirect chain at
// the final response, so that the next request for the first URL is
// answered from the cache without the redirects (requests-cache's redirect
// aliases). Only GET and HEAD hops are aliased, and only as far back as
// every redirect in between may be remembered (rules.RedirectStorable).
// Each alias belongs to its hop's URI: an unsafe request to it removes it.
func (s *Session) aliasRedirects(ctx context.Context, x *exchange, key string) {
	n := 0
	for r := x.req.Response; r != nil && r.Request != nil && n < maxRedirectAliases; r = r.Request.Response {
		if !rules.RedirectStorable(x.p.rules, r.Header) {
			return
		}
		prev := r.Request
		n++
		if _, overridden := cachekey.MethodOverride(prev); overridden {
			return
		}
		if m := cachekey.Method(prev); m != http.MethodGet && m != http.MethodHead {
			continue
		}
		prevKey := s.keyFor(x.p, prev, nil)
		if prevKey == x.key {
			continue
		}
		s.setAlias(ctx, x.p.keys.URIKey(prev), prevKey, urlindex.RedirectTo(key))
	}
}

// maxRedirectAliases bounds how many earlier hops of a redirect chain get
// an alias to the final response.
const maxRedirectAliases = 10

// setAlias sets an alias for a resource: removed with it on invalidation,
// where the store can (stores.URIIndex).
func (s *Session) setAlias(ctx context.Context, uriKey, alias, value string) {
	var err error
	if ix := s.opt.URIs; ix != nil {
		err = ix.SetAliasFor(ctx, uriKey, alias, value)
	} else {
		err = s.writes.SetAlias(ctx, alias, value)
	}
	if err != nil {
		s.storeError("set alias", err)
	}
}

// listEntry lists an entry stored for req (whose key is key) under its
// resource, unless invalidation finds it from the URI alone: keyed by its
// method, URL and Host (bareKey), or that key's part.
func (s *Session) listEntry(ctx context.Context, p *policy, req *http.Request, body []byte, key string, e *stores.Entry) {
	ix := s.opt.URIs
	if ix == nil || (e.Key == key || e.Key == urlindex.Part(key)) && s.keyFunc == nil && p.keys.Bare(req, body) {
		return
	}
	if err := ix.IndexEntry(ctx, e.URIKey, e.Key); err != nil {
		s.storeError("index entry", err)
	}
}

// deleteKeys removes entries (a store error is logged).
func (s *Session) deleteKeys(ctx context.Context, keys ...string) {
	if _, err := s.writes.Delete(ctx, keys...); err != nil {
		s.storeError("delete", err)
	}
}

// deleteURI removes every stored response for the resource uri: the
// entries keyed by its URI alone (bare), and those the store lists under
// it, or else those a scan finds.
func (s *Session) deleteURI(ctx context.Context, uri string, bare []string) (int, error) {
	if ix := s.opt.URIs; ix != nil {
		n, err := s.writes.Delete(ctx, bare...)
		if err != nil {
			s.storeError("delete", err)
		}
		listed, lerr := ix.DeleteURI(ctx, uri)
		if lerr != nil {
			s.storeError("delete uri", lerr)
		}
		return n + listed, errors.Join(err, lerr)
	}
	var keys []string
	err := s.reads.Scan(ctx, func(e *stores.Entry) bool {
		if e.URIKey == uri {
			keys = append(keys, e.Key)
		}
		return true
	})
	if err != nil {
		if !errors.Is(err, context.Canceled) {
			s.storeError("scan", err)
		}
		return 0, err
	}
	if len(keys) == 0 {
		return 0, nil
	}
	n, err := s.writes.Delete(ctx, keys...)
	if err != nil {
		s.storeError("delete", err)
	}
	return n, err
}

// deleteWhere removes the entries a condition selects, where the store
// can (stores.ConditionalDeleter); ok is false when it cannot.
func (s *Session) deleteWhere(ctx context.Context, cond stores.Condition) (n int, ok bool, err error) {
	cd := s.opt.Deleter
	if cd == nil {
		return 0, false, nil
	}
	n, err = cd.DeleteWhere(ctx, cond)
	return n, true, err
}

// deleteEntries removes entries by key for the management API, returning
// the store's error.
func (s *Session) deleteEntries(ctx context.Context, keys ...string) (int, error) {
	return s.writes.Delete(ctx, keys...)
}

// rewriteExpiry stores e again with a new expiration (ResetExpiration): it
// was admitted when it was first written; only its time changes.
func (s *Session) rewriteExpiry(ctx context.Context, e *stores.Entry) error {
	redactStored(s.policy.Load().keys, e)
	return s.writes.Set(ctx, e)
}

// rewriteSealing stores e again as it is, for the store to seal it with
// its first key (Reseal): it was admitted when it was first written.
func (s *Session) rewriteSealing(ctx context.Context, e *stores.Entry) error {
	return s.writes.Set(ctx, e)
}

// importAlias stores an alias line of a trusted import as it is.
func (s *Session) importAlias(ctx context.Context, alias, value string) error {
	return s.writes.SetAlias(ctx, alias, value)
}

// clearStore removes everything but the credential key.
func (s *Session) clearStore(ctx context.Context) error {
	key, keyErr := s.reads.GetAlias(ctx, CredentialKeyAlias)
	if err := s.writes.Clear(ctx); err != nil {
		return err
	}
	if keyErr != nil {
		return nil
	}
	if err := s.writes.SetAlias(ctx, CredentialKeyAlias, key); err != nil {
		return fmt.Errorf("reqcache: cleared, but the credential key was not kept: %w", err)
	}
	return nil
}

// keepCredentialKey stores a new credential key, for the processes
// sharing the store.
func (s *Session) keepCredentialKey(ctx context.Context, hexKey string) (string, error) {
	if a := s.opt.Adder; a != nil {
		return a.AddAlias(ctx, CredentialKeyAlias, hexKey)
	}
	return hexKey, s.writes.SetAlias(ctx, CredentialKeyAlias, hexKey)
}
