package session

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/reqcache/reqcache/stores"
)

// maxRedirectAliases bounds how many earlier hops of a redirect chain get
// an alias to the final response.
const maxRedirectAliases = 10

// store writes a response just received, when every rule allows it, and
// reports why not otherwise. info receives the key and times of what was
// stored.
func (s *Session) save(ctx context.Context, x *exchange, resp *http.Response, body []byte, requestedAt, receivedAt time.Time, info *Info) (bool, string) {
	p := x.p
	if p.ReadOnly {
		return false, "read-only"
	}
	if !p.codes[resp.StatusCode] {
		return false, "status"
	}
	respD := absentDirectives()
	if p.CacheControl {
		respD = parseDirectives(resp.Header)
	}
	f := p.decideFreshness(x.reqExp, &x.reqD, &respD, resp.Header, requestedAt, receivedAt)
	if !f.store {
		return false, f.reason
	}
	if f.needsValidator && !hasValidator(resp.Header) {
		return false, "no-validator"
	}
	names, star := varyNames(resp.Header)
	if p.keys.varyUncacheable(names, star) {
		return false, "vary"
	}
	if !p.SeparateCredentials && len(resp.Header["Set-Cookie"]) > 0 {
		// Entries are shared across credentials here, and a cookie set
		// for one user must never be handed to another.
		return false, "set-cookie"
	}
	if s.filter != nil {
		probe := *resp
		probe.Header = resp.Header.Clone()
		probe.Body = newBody(body)
		if !s.filter(&probe) {
			return false, "filter"
		}
	}
	e := &stores.Entry{
		Key:           x.key,
		StatusCode:    resp.StatusCode,
		Header:        storableHeader(resp.Header),
		Body:          body,
		Method:        effectiveMethod(x.req),
		URL:           p.keys.redactedURL(x.req.URL),
		RequestHeader: p.keys.redactedHeader(x.req.Header),
		RequestedAt:   requestedAt,
		CreatedAt:     receivedAt,
		ExpiresAt:     f.expiresAt,
	}
	if len(names) > 0 {
		e.Key = variantKey(x.key, names, x.req.Header)
	}
	if e.Key != x.key {
		// The primary key's lookup finds this variant through the index.
		// (A variant stored under the primary key needs none: requests
		// that do not match it look the index up anyway.)
		s.indexVariant(ctx, x, names, e.Key)
	} else if len(names) == 0 && x.aliasSeen {
		// A plain response replaces a Vary index or redirect alias.
		if err := s.store.DeleteAlias(ctx, x.key); err != nil {
			s.storeError("delete alias", err)
		}
	}
	if err := s.store.Set(ctx, e); err != nil {
		if errors.Is(err, stores.ErrTooLarge) {
			if ce := s.log.Check(zap.DebugLevel, "reqcache: response too large for the store, not cached"); ce != nil {
				ce.Write(zap.String("key", e.Key), zap.Int("bytes", len(body)))
			}
			return false, "too-large"
		}
		s.storeError("set", err)
		return false, "store-error"
	}
	s.aliasRedirects(ctx, x, e.Key)
	info.Key = e.Key
	info.CreatedAt = e.CreatedAt
	info.Expires = e.ExpiresAt
	if ce := s.log.Check(zap.DebugLevel, "reqcache: stored"); ce != nil {
		ce.Write(zap.String("key", e.Key), zap.String("url", e.URL), zap.Int("status", e.StatusCode), zap.Time("expires", e.ExpiresAt))
	}
	return true, ""
}

// indexVariant records a variant key under the primary key's Vary index,
// and removes a plain entry the primary key may still hold.
func (s *Session) indexVariant(ctx context.Context, x *exchange, names []string, key string) {
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
	if x.primaryPlain && key != x.key {
		// The URL answered without Vary before: that entry would match
		// every request.
		s.deleteKeys(ctx, x.key)
	}
}

// aliasRedirects points the keys of the earlier hops of a redirect chain at
// the final response, so that the next request for the first URL is
// answered from the cache without the redirects (requests-cache's redirect
// aliases). Only GET and HEAD hops are aliased.
func (s *Session) aliasRedirects(ctx context.Context, x *exchange, key string) {
	n := 0
	for r := x.req.Response; r != nil && r.Request != nil && n < maxRedirectAliases; r = r.Request.Response {
		prev := r.Request
		n++
		if m := effectiveMethod(prev); m != http.MethodGet && m != http.MethodHead {
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
