package session

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"go.uber.org/zap"

	"github.com/reqcache/reqcache/internal/cachekey"
	"github.com/reqcache/reqcache/internal/urlindex"
)

// This file reads and removes what the cache holds for a URL, through the
// URL's index (internal/urlindex: where each kind of stored response
// lives, and the one traversal lookup and keysFor share); writer.go writes
// it.

// languageOf returns the one language of a response that varies on
// Accept-Language alone, or "": the only responses a request may get by
// its preferred language rather than by its exact Accept-Language
// (cache-tests' vary-normalise-lang-select).
func languageOf(h http.Header) string {
	names, star := cachekey.VaryNames(h)
	if star || len(names) != 1 || names[0] != "Accept-Language" {
		return ""
	}
	langs := cachekey.SplitList(h.Get("Content-Language"))
	if len(langs) != 1 || len(h.Values("Content-Language")) != 1 {
		return ""
	}
	return strings.ToLower(langs[0])
}

// bareKey is the key of a request for u, sent to host with method and
// nothing else: no credentials, no matched headers, no body. Invalidation
// finds the entries under it without the store's index; every other entry
// is listed there (listEntry).
func (s *Session) bareKey(p *policy, method string, u *url.URL, host string) string {
	return s.keyFor(p, &http.Request{Method: method, URL: p.keys.BareURL(u), Host: host, Header: http.Header{}}, nil)
}

// keysFor returns the keys of what is stored for a request: the entry it
// would be answered from (primary, variant, redirect target, language
// variant: urlindex.Walk) and its URL's part. (Cache.Delete and Contains
// use it.)
func (s *Session) keysFor(ctx context.Context, p *policy, req *http.Request, body []byte) []string {
	key := s.keyFor(p, req, body)
	keys := []string{urlindex.Part(key)}
	_, _ = urlindex.Walk(ctx, p.keys, key, req.Header, s.reads.GetAlias, func(step urlindex.Step) bool {
		keys = append(keys, step.Key)
		return false
	})
	return keys
}

// invalidateURI makes every stored response for u, sent to host ("" for
// u's own), unusable: it marks the resource (internal/marks), then the
// writer removes its entries and the aliases set for it (deleteURI). A
// store without stores.URIIndex is scanned for the entries (its aliases
// stay; they lead nowhere once the entries are gone, but a redirect alias).
func (s *Session) invalidateURI(ctx context.Context, p *policy, u *url.URL, host string) int {
	uri := p.keys.URIKeyOf(u, host)
	s.invalidated.Mark(uri, s.now())
	var bare []string
	for _, m := range []string{http.MethodGet, http.MethodHead} {
		k := s.bareKey(p, m, u, host)
		bare = append(bare, k, urlindex.Part(k))
	}
	n, err := s.deleteURI(ctx, uri, bare)
	if err != nil {
		// Owed: its entries are refused here until a delete goes through.
		s.owedInvalidations.Add(uri)
		s.log.Warn("reqcache: invalidation not carried out by the store; this process refuses the resource's stored responses until it is",
			zap.String("url", p.keys.RedactedURL(u)), zap.Error(err))
	}
	return n
}
