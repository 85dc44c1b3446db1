package session

import (
	"context"
	"net/http"
	"net/url"
	"sync"

	"go.uber.org/zap"

	"github.com/reqcache/reqcache/config"
	"github.com/reqcache/reqcache/internal/cachekey"
	"github.com/reqcache/reqcache/internal/urlindex"
)

// This file connects the session to its keys (internal/cachekey derives
// them): the primary key of a request, and the names that package exports
// through this one.

// Redacted replaces ignored parameters (credentials) in everything stored.
const Redacted = cachekey.Redacted

// CredentialHeaders returns the header names that always count as
// credentials, whatever ignored_parameters says: never stored or logged in
// the clear, and under separate_credentials part of the keyed hash.
func CredentialHeaders() []string { return cachekey.CredentialHeaders() }

// KeyFunc computes the cache key of a request (requests-cache's key_fn). body
// is the request body, already read; the request's Body must not be read.
// With separate_credentials the session mixes a keyed hash of the request's
// credentials into whatever the function returns. A key shaped like one the
// session derives from a key (ending in "-206", holding "|lang=") or like
// its own (starting "k:" or "reqcache:") is stored under its SHA-256
// ("k:" and hex), so that keys built from request data never reach
// another key's stored part or aliases.
type KeyFunc func(req *http.Request, body []byte) string

// DefaultKey is the key a session computes for req without a key function
// (requests-cache's create_key), for key functions that extend it:
//
//	session.WithKeyFunc(func(req *http.Request, body []byte) string {
//		return session.DefaultKey(req, body) + "|" + req.Header.Get("X-Tenant")
//	})
//
// Called by a session's key function, it follows that session's
// ignored_parameters and match_headers; called anywhere else, the defaults'.
// Like any key function's key, it leaves out the credential hash, which
// the session adds under separate_credentials.
func DefaultKey(req *http.Request, body []byte) string {
	if k, ok := req.Context().Value(keyerKey{}).(*cachekey.Keyer); ok {
		return k.Key(req, body)
	}
	return defaultKeyer().Key(req, body)
}

type keyerKey struct{}

var defaultKeyer = sync.OnceValue(func() *cachekey.Keyer {
	d := config.Default()
	return cachekey.New(d.IgnoredParameters, d.MatchHeaders.All, d.MatchHeaders.Names)
})

// PrincipalFunc names who signed a request under a signing scheme (see
// WithPrincipal); ok is false for a request it does not recognize.
type PrincipalFunc func(req *http.Request) (principal string, ok bool)

// keyFor is the primary key of a request: the key function's, with the
// keyed credential hash mixed in under separate_credentials — of the
// principal a PrincipalFunc names, when it names one.
func (s *Session) keyFor(p *policy, req *http.Request, body []byte) string {
	key, _ := s.keyAndURIFor(p, req, body)
	return key
}

// keyAndURIFor is keyFor, and the request's URIKey when the key brought it
// at no cost ("": exchange.uriKey computes it when needed).
func (s *Session) keyAndURIFor(p *policy, req *http.Request, body []byte) (key, uri string) {
	var secret []byte
	if p.SeparateCredentials {
		secret = s.secret
	}
	principal, signed := "", false
	if secret != nil && s.signer != nil {
		principal, signed = s.signer(req)
	}
	if s.keyFunc == nil && !signed {
		return p.keys.PrimaryAndURI(req, body, secret)
	}
	if s.keyFunc == nil {
		key = p.keys.Key(req, body)
	} else {
		// DefaultKey, called by the key function, finds this session's keys here.
		key = urlindex.Own(s.keyFunc(req.WithContext(context.WithValue(req.Context(), keyerKey{}, p.keys)), body))
	}
	switch {
	case secret == nil:
		return key, ""
	case signed:
		return cachekey.ForPrincipal(key, principal, secret), ""
	}
	return p.keys.Separate(key, req, body, secret), ""
}

// NormalizeURL returns rawURL as reqcache stores it: lower-case scheme and
// host, default port dropped, user info and fragment dropped, query sorted,
// the given ignored parameters REDACTED. It is what Cache.URLs returns and
// what Selector.URLs are compared with.
func NormalizeURL(rawURL string, ignored []string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", err
	}
	return cachekey.New(ignored, false, nil).RedactedURL(u), nil
}

// errorField logs err with the request's credentials scrubbed from its text
// (cachekey.Keyer.ScrubError).
func errorField(k *cachekey.Keyer, err error, req *http.Request) zap.Field {
	if err == nil {
		return zap.Error(nil)
	}
	return zap.String("error", k.ScrubError(err, req))
}
