package session

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/reqcache/reqcache/internal/cachekey"
	"github.com/reqcache/reqcache/internal/rules"
	"github.com/reqcache/reqcache/stores"
)

// maxRedirectAliases bounds how many earlier hops of a redirect chain get
// an alias to the final response.
const maxRedirectAliases = 10

// storeRules is the one gate of what may be stored, passed by every path
// that writes a response (a response just received, a 304 merged into an
// entry, a background or stale-while-revalidate refresh, which are
// fetches): whether a response with this status and header may be stored,
// until when, and the names it varies on. reason says why not ("" when it
// may). Redirect aliases have a gate of their own (redirectStorable).
func (p *policy) storeRules(x *exchange, status int, h http.Header, requestedAt, receivedAt time.Time) (f rules.Freshness, names []string, reason string) {
	if p.ReadOnly {
		return f, nil, "read-only"
	}
	if !p.codes[status] {
		return f, nil, "status"
	}
	if mt, _, _ := strings.Cut(h.Get("Content-Type"), ";"); strings.EqualFold(strings.TrimSpace(mt), "text/event-stream") {
		// A replayed event stream is never what a caller wants (and a
		// live one never ends).
		return f, nil, "event-stream"
	}
	respD := rules.Absent()
	if p.CacheControl {
		respD = rules.Parse(h)
	}
	f = rules.NewResponse(p.CacheControl, status, x.reqExp, x.heuristic(), &x.reqD, &respD, h, requestedAt, receivedAt)
	if !f.Store {
		return f, nil, f.Reason
	}
	if f.NeedsValidator && !rules.HasValidator(h) {
		return f, nil, "no-validator"
	}
	names, star := cachekey.VaryNames(h)
	if p.keys.VaryUncacheable(names, star, p.SeparateCredentials) {
		return f, nil, "vary"
	}
	if !p.SeparateCredentials && len(h["Set-Cookie"]) > 0 {
		// Entries are shared across credentials here: a response that
		// sets a cookie is likely made for one user.
		return f, nil, "set-cookie"
	}
	return f, names, ""
}

// entryFor is the entry a response that passed storeRules is stored as,
// its body still to come.
func (s *Session) entryFor(x *exchange, resp *http.Response, f rules.Freshness, names []string, requestedAt, receivedAt time.Time) *stores.Entry {
	p := x.p
	e := &stores.Entry{
		Key:           x.key,
		StatusCode:    resp.StatusCode,
		Header:        storableHeader(resp.Header),
		Method:        cachekey.EffectiveMethod(x.req),
		URL:           p.keys.RedactedURL(x.req.URL),
		RequestHeader: p.keys.RedactedHeader(x.req.Header),
		RequestedAt:   requestedAt,
		CreatedAt:     receivedAt,
		ExpiresAt:     f.ExpiresAt,
	}
	if len(names) > 0 {
		e.Key = p.keys.VariantKey(x.key, names, x.req.Header)
	}
	return e
}

// saveEntry writes e, its body complete, when the filter accepts resp
// with that body, with the Vary index and redirect aliases that lead to
// it; it reports why not otherwise.
func (s *Session) saveEntry(ctx context.Context, x *exchange, e *stores.Entry, names []string, resp *http.Response) (bool, string) {
	if s.filter != nil {
		probe := *resp
		probe.Header = resp.Header.Clone()
		probe.Body = newBody(e.Body)
		if !s.filter(&probe) {
			return false, "filter"
		}
	}
	if e.Key != x.key {
		// The primary key's lookup finds this variant through the index.
		// (A variant stored under the primary key needs none: requests
		// that do not match it look the index up anyway.)
		s.indexVariant(ctx, x, names, e.Key, e.Header)
	} else if len(names) == 0 && x.aliasSeen {
		// A plain response replaces a Vary index or redirect alias.
		if err := s.store.DeleteAlias(ctx, x.key); err != nil {
			s.storeError("delete alias", err)
		}
	}
	if err := s.store.Set(ctx, e); err != nil {
		if errors.Is(err, stores.ErrTooLarge) {
			if ce := s.log.Check(zap.DebugLevel, "reqcache: response too large for the store, not cached"); ce != nil {
				ce.Write(zap.String("key", e.Key), zap.Int("bytes", len(e.Body)))
			}
			return false, "too-large"
		}
		s.storeError("set", err)
		return false, "store-error"
	}
	s.aliasRedirects(ctx, x, e.Key)
	if ce := s.log.Check(zap.DebugLevel, "reqcache: stored"); ce != nil {
		ce.Write(zap.String("key", e.Key), zap.String("url", e.URL), zap.Int("status", e.StatusCode), zap.Time("expires", e.ExpiresAt))
	}
	return true, ""
}

// indexVariant records a variant key under the primary key's Vary index
// (and under its language, for languageVariant), and removes a plain entry
// the primary key may still hold.
func (s *Session) indexVariant(ctx context.Context, x *exchange, names []string, key string, header http.Header) {
	var idx varyIndex
	if v, err := s.store.GetAlias(ctx, x.key); err == nil {
		idx, _ = decodeVaryIndex(v)
	} else if !errors.Is(err, stores.ErrNotFound) {
		s.storeError("get alias", err)
	}
	next := idx.withVariant(names, key)
	if next.encode() != idx.encode() {
		if err := s.store.SetAlias(ctx, x.key, next.encode()); err != nil {
			s.storeError("set alias", err)
		}
	}
	if lang := languageOf(header); lang != "" {
		if err := s.store.SetAlias(ctx, x.key+langSuffix+lang, key); err != nil {
			s.storeError("set alias", err)
		}
	}
	if x.primaryPlain && key != x.key {
		// The URL answered without Vary before: that entry would match
		// every request.
		s.deleteKeys(ctx, x.key)
	}
}

// aliasRedirects points the keys of the earlier hops of a redirect chain at
// the final response, so that the next request for the first URL is
// answered from the cache without the redirects (requests-cache's redirect
// aliases). Only GET and HEAD hops are aliased, and only as far back as
// every redirect in between may be remembered (redirectStorable).
func (s *Session) aliasRedirects(ctx context.Context, x *exchange, key string) {
	n := 0
	for r := x.req.Response; r != nil && r.Request != nil && n < maxRedirectAliases; r = r.Request.Response {
		if !redirectStorable(x.p, r) {
			return
		}
		prev := r.Request
		n++
		if m := cachekey.EffectiveMethod(prev); m != http.MethodGet && m != http.MethodHead {
			continue
		}
		prevKey := s.keyFor(x.p, prev, nil)
		if prevKey == x.key {
			continue
		}
		if err := s.store.SetAlias(ctx, prevKey, aliasRedirect+key); err != nil {
			s.storeError("set alias", err)
			return
		}
	}
}

// redirectStorable reports whether a redirect may be remembered as an
// alias. An alias answers later requests without asking the origin, so a
// redirect that may not be reused is never one: no-store (whatever
// cache_control says), no-cache or private under cache_control, a
// Set-Cookie (the redirect was made for one visitor: "/whoami" to
// "/users/1"), or any Vary (an alias cannot tell variants apart).
func redirectStorable(p *policy, r *http.Response) bool {
	if len(r.Header["Set-Cookie"]) > 0 || len(r.Header["Vary"]) > 0 {
		return false
	}
	d := rules.Parse(r.Header)
	if d.NoStore {
		return false
	}
	return !p.CacheControl || !(d.NoCache || d.Private && !p.SeparateCredentials)
}

// ownEntry copies a lent entry's header maps, which the caller may then
// change; the body is shared (nobody writes into stored bytes).
func ownEntry(e *stores.Entry) *stores.Entry {
	c := *e
	c.Header = e.Header.Clone()
	if c.Header == nil {
		c.Header = make(http.Header)
	}
	c.RequestHeader = e.RequestHeader.Clone()
	if c.RequestHeader == nil {
		c.RequestHeader = make(http.Header)
	}
	return &c
}

// cloneEntry copies e deeply, for code that hands it to user functions.
func cloneEntry(e *stores.Entry) *stores.Entry {
	c := *e
	c.Header = e.Header.Clone()
	c.RequestHeader = e.RequestHeader.Clone()
	c.Body = bytes.Clone(e.Body)
	return &c
}
