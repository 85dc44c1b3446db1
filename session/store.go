package session

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/reqcache/reqcache/internal/cachestatus"

	"go.uber.org/zap"

	"github.com/reqcache/reqcache/internal/cachekey"
	"github.com/reqcache/reqcache/internal/rules"
	"github.com/reqcache/reqcache/stores"
)

// This file is the one door in: every write of a response — a miss, a 304
// merged into an entry, a background refresh, a redirect alias, a part, a
// POST stored as its GET, the language alias, an import — passes admit,
// the one storability decision (rules.NewResponse), made from the exchange
// that produced the response: its real method, body, credentials and
// directives, which the key comes from too (keyFor). What a store keeps of
// a header is rules.StorableHeader, for a new response and a 304 merge
// alike.

// maxRedirectAliases bounds how many earlier hops of a redirect chain get
// an alias to the final response.
const maxRedirectAliases = 10

// admission is what admit decided for one response.
type admission struct {
	rules.Freshness
	// names are the headers the response varies on.
	names []string
}

// admit is the one storability decision for a response to x's request.
// Reason says why not ("" when it may be stored).
func (s *Session) admit(x *exchange, status int, h http.Header, requestedAt, receivedAt time.Time) admission {
	names, star := cachekey.VaryNames(h)
	credential := false
	for _, n := range names {
		credential = credential || x.p.keys.IsCredential(n)
	}
	resp := rules.Response{Status: status, Header: h, RequestedAt: requestedAt, ReceivedAt: receivedAt, VaryStar: star, VaryCredential: credential}
	a := admission{Freshness: rules.NewResponse(&x.rq, &resp, x.p.rules), names: names}
	if a.Store && len(h["Location"]) > 0 && x.p.keys.HasCredentials(h.Get("Location")) {
		// A redirect to a URL that carries a credential (a presigned
		// download, a token in the query): stored, it would hold the
		// secret in the clear; redacted, it would lead nowhere.
		return admission{Freshness: rules.Freshness{Reason: string(cachestatus.DetailLocationCredential)}}
	}
	return a
}

// entryFor is the entry a response that passed admit is stored as, its
// body still to come.
func (s *Session) entryFor(x *exchange, status int, h http.Header, a admission, requestedAt, receivedAt time.Time) *stores.Entry {
	p := x.p
	header := rules.StorableHeader(h)
	if v := header.Get("Content-Location"); v != "" && p.keys.HasCredentials(v) {
		// It names the request's URL, credentials included: stored
		// redacted, as the URL itself is.
		header = header.Clone() // (it may be the response's own map)
		header.Set("Content-Location", p.keys.RedactURLText(v))
	}
	e := &stores.Entry{
		Key:           x.key,
		URIKey:        x.uriKey(),
		StatusCode:    status,
		Header:        header,
		Method:        cachekey.Method(x.req),
		URL:           p.keys.RedactedURL(x.req.URL),
		RequestHeader: p.keys.RedactedHeader(x.req.Header),
		RequestedAt:   requestedAt,
		CreatedAt:     receivedAt,
		ExpiresAt:     a.ExpiresAt,
		Heuristic:     a.Heuristic,
	}
	if host := x.req.Host; host != "" && host != x.req.URL.Host {
		// The Host it was sent to selects it too (keys hold it): what is
		// stored says so, for Import to derive its key again.
		if e.RequestHeader == nil {
			e.RequestHeader = make(http.Header, 1)
		}
		e.RequestHeader["Host"] = []string{host}
	}
	if len(a.names) > 0 {
		e.Key = p.keys.VariantKey(x.key, a.names, x.req.Header)
	}
	return e
}

// saveEntry writes e, its body complete, when the filter accepts resp
// with that body, with the index and redirect aliases that lead to it. f
// is what lookup found for x (what the primary key holds). It reports why
// not otherwise.
func (s *Session) saveEntry(ctx context.Context, x *exchange, f found, e *stores.Entry, names []string, resp *http.Response) (bool, cachestatus.Detail) {
	if s.filter != nil {
		probe := *resp
		probe.Header = resp.Header.Clone()
		probe.Body = newBody(e.Body)
		if !s.filter(&probe) {
			return false, cachestatus.DetailFilter
		}
	}
	switch {
	case e.Key != x.key:
		// The primary key's lookup finds this variant through the index.
		// (A variant stored under the primary key needs none: requests
		// that do not match it look the index up anyway.)
		s.indexVariant(ctx, x, names, e.Key, e.Header)
	case len(names) == 0 && f.indexed:
		// A plain response replaces a Vary index or redirect alias.
		if err := s.store.DeleteAlias(ctx, x.key); err != nil {
			s.storeError("delete alias", err)
		}
	}
	if s.overtaken(x, e.URIKey) {
		return false, cachestatus.DetailInvalidated
	}
	if err := s.store.Set(ctx, e); err != nil {
		if errors.Is(err, stores.ErrTooLarge) {
			if ce := s.log.Check(zap.DebugLevel, "reqcache: response too large for the store, not cached"); ce != nil {
				ce.Write(zap.String("key", e.Key), zap.Int("bytes", len(e.Body)))
			}
			return false, cachestatus.DetailTooLarge
		}
		s.storeError("set", err)
		return false, cachestatus.DetailStoreError
	}
	s.listEntry(ctx, x.p, x.req, x.body, x.key, e)
	s.aliasRedirects(ctx, x, e.Key)
	if s.undoIfOvertaken(ctx, x, e.URIKey, e.Key) {
		return false, cachestatus.DetailInvalidated
	}
	if ce := s.log.Check(zap.DebugLevel, "reqcache: stored"); ce != nil {
		ce.Write(zap.String("key", e.Key), zap.String("url", e.URL), zap.Int("status", e.StatusCode), zap.Time("expires", e.ExpiresAt))
	}
	return true, cachestatus.DetailNone
}

// overtaken reports an invalidation of uri after x began (internal/marks):
// a write x's trip brings is checked before (not made) and after
// (undoIfOvertaken: deleted, the invalidation came while it was written).
func (s *Session) overtaken(x *exchange, uri string) bool { return s.invalidated.Since(uri, x.since) }

func (s *Session) undoIfOvertaken(ctx context.Context, x *exchange, uri, key string) (undone bool) {
	if undone = s.overtaken(x, uri); undone {
		s.deleteKeys(ctx, key)
	}
	return undone
}

// indexVariant records a variant key under the primary key's Vary index
// (and under its language, for languageVariant), and removes a plain entry
// the primary key holds (it would answer every request).
func (s *Session) indexVariant(ctx context.Context, x *exchange, names []string, key string, header http.Header) {
	var idx cachekey.VaryIndex
	if v, err := s.store.GetAlias(ctx, x.key); err == nil {
		idx, _ = cachekey.DecodeVaryIndex(v)
	} else if !errors.Is(err, stores.ErrNotFound) {
		s.storeError("get alias", err)
	}
	next := idx.WithVariant(names, key)
	if next.Encode() != idx.Encode() {
		s.setAlias(ctx, x.uriKey(), x.key, next.Encode())
	}
	if lang := languageOf(header); lang != "" {
		s.setAlias(ctx, x.uriKey(), languageKey(x.key, lang), key)
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
		s.setAlias(ctx, x.p.keys.URIKey(prev), prevKey, aliasRedirect+key)
	}
}

// cloneEntry copies e deeply, for code that hands it to user functions.
func cloneEntry(e *stores.Entry) *stores.Entry {
	c := *e
	c.Header = e.Header.Clone()
	c.RequestHeader = e.RequestHeader.Clone()
	c.Body = bytes.Clone(e.Body)
	return &c
}
