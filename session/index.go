package session

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"strings"

	"go.uber.org/zap"

	"github.com/reqcache/reqcache/internal/cachekey"
)

// This file is the one index of what the cache holds for a URL: where each
// kind of stored response lives, which lookup, Cache.Delete and Export, and
// invalidation all read here.
//
//   - The primary key (keys.go): a response without Vary, or the variant
//     for a request that sends none of the Vary headers.
//   - Variant keys: the primary key plus the request's values of the Vary
//     headers (cachekey.VariantKey). The primary key's alias, the Vary
//     index, names the headers and the variants seen.
//   - The language alias (primary key + "|lang=" + language): the variant
//     in that Content-Language, for requests that prefer it (Vary:
//     Accept-Language alone).
//   - A redirect alias: the primary key of an earlier hop points at the
//     final response's key (requests-cache's redirect aliases).
//   - The part (partKey): a 206 kept for the URL (ranges.go).
//
// Every entry carries the URL's resource name (stores.Entry.URIKey) and
// every alias is set for it, so that an unsafe request removes everything
// stored for its URI at once (stores.URIIndex), under every credential,
// variant and part.

const (
	aliasRedirect = "r:"
	// langSuffix names the alias from a URL's primary key and a language
	// to its variant in that Content-Language (languageVariant).
	langSuffix = "|lang="
)

// customKeyPrefix starts a key function's key the session rewrote
// (ownKey).
const customKeyPrefix = "k:"

// ownKey is a key function's key as the session uses it: the key itself,
// unless it has the shape of a key the session derives (a part, a language
// alias), of a rewritten key, or of the session's own aliases
// (CredentialKeyAlias): then its SHA-256, under customKeyPrefix. A key
// function may build keys from request data (the path), and such a key
// must never reach another key's part or aliases.
func ownKey(key string) string {
	if !strings.HasSuffix(key, partSuffix) && !strings.Contains(key, langSuffix) &&
		!strings.HasPrefix(key, customKeyPrefix) && !strings.HasPrefix(key, "reqcache:") {
		return key
	}
	sum := sha256.Sum256([]byte(key))
	return customKeyPrefix + hex.EncodeToString(sum[:])
}

// partSuffix makes a part's key from its URL's primary key.
const partSuffix = "-206"

// partKey is where the stored part of the response under key lives.
func partKey(key string) string { return key + partSuffix }

// languageKey is where the language alias of a primary key lives.
func languageKey(primary, lang string) string { return primary + langSuffix + lang }

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

// target is where an alias of a primary key leads x: a variant for its
// Vary headers, or a redirect's final response ("" for neither). idx holds
// the index's Vary names only.
func (x *exchange) target(alias string) (key string, idx cachekey.VaryIndex, isIndex bool) {
	if idx, ok := cachekey.VaryIndexNames(alias); ok {
		return x.p.keys.VariantKey(x.key, idx.Names, x.req.Header), idx, true
	}
	if t, ok := strings.CutPrefix(alias, aliasRedirect); ok {
		return t, cachekey.VaryIndex{}, false
	}
	return "", cachekey.VaryIndex{}, false
}

// bareKey is the key of a request for u, sent to host with method and
// nothing else: no credentials, no matched headers, no body. Invalidation
// finds the entries under it without the store's index; every other entry
// is listed there (listEntry).
func (s *Session) bareKey(p *policy, method string, u *url.URL, host string) string {
	return s.keyFor(p, &http.Request{Method: method, URL: p.keys.BareURL(u), Host: host, Header: http.Header{}}, nil)
}

// keysFor returns the keys of what is stored for a request: the entry it
// would be answered from (primary, variant, language variant, redirect
// target) and its URL's part. (Cache.Delete and Contains use it.)
func (s *Session) keysFor(ctx context.Context, p *policy, req *http.Request, body []byte) []string {
	x := &exchange{req: req, p: p}
	x.key = s.keyFor(p, req, body)
	keys := []string{x.key, partKey(x.key)}
	alias, err := s.store.GetAlias(ctx, x.key)
	if err != nil {
		return keys
	}
	target, idx, isIndex := x.target(alias)
	if target != "" && target != x.key {
		keys = append(keys, target)
	}
	if isIndex && len(idx.Names) == 1 && idx.Names[0] == "Accept-Language" {
		if top := cachekey.TopLanguage(req.Header); top != "" {
			if k, err := s.store.GetAlias(ctx, languageKey(x.key, top)); err == nil {
				keys = append(keys, k)
			}
		}
	}
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
		bare = append(bare, k, partKey(k))
	}
	n, err := s.deleteURI(ctx, uri, bare)
	if err != nil {
		// Owed: its entries are refused here until a delete goes through.
		s.unsure.add(uri)
		s.log.Warn("reqcache: invalidation not carried out by the store; this process refuses the resource's stored responses until it is",
			zap.String("url", p.keys.RedactedURL(u)), zap.Error(err))
	}
	return n
}
