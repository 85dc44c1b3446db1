package session

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/reqcache/reqcache/stores"
)

// This file is invalidation (RFC 9111 §4.4): a non-error response to an
// unsafe request removes what is stored for its URL, and for the same-origin
// URLs in its Location and Content-Location.

func (s *Session) invalidate(ctx context.Context, p *policy, req *http.Request, resp *http.Response) {
	targets := []*url.URL{req.URL}
	for _, h := range []string{"Location", "Content-Location"} {
		v := resp.Header.Get(h)
		if v == "" {
			continue
		}
		u, err := req.URL.Parse(v)
		if err != nil || !sameOrigin(u, req.URL) {
			continue
		}
		targets = append(targets, u)
	}
	var keys, aliases []string
	for _, u := range targets {
		for _, m := range []string{http.MethodGet, http.MethodHead} {
			// The same Host as the unsafe request: keys include a Host
			// that differs from the URL's (a reverse proxy's), and the
			// targets share the request's origin.
			r := &http.Request{Method: m, URL: u, Header: req.Header, Host: req.Host}
			if r.Header.Get("X-HTTP-Method-Override") != "" {
				r.Header = req.Header.Clone()
				r.Header.Del("X-HTTP-Method-Override")
			}
			key := s.keyFor(p, r, nil)
			keys = append(keys, key, partKey(key))
			alias, err := s.store.GetAlias(ctx, key)
			switch {
			case err == nil:
				aliases = append(aliases, key)
				if idx, ok := decodeVaryIndex(alias); ok {
					keys = append(keys, idx.variants...)
				}
			case !errors.Is(err, stores.ErrNotFound):
				s.storeError("get alias", err)
			}
		}
	}
	n, err := s.store.Delete(ctx, keys...)
	if err != nil {
		s.storeError("delete", err)
	}
	if len(aliases) > 0 {
		if err := s.store.DeleteAlias(ctx, aliases...); err != nil {
			s.storeError("delete alias", err)
		}
	}
	if n > 0 {
		s.stats.invalidated.Add(int64(n))
	}
}

func sameOrigin(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) && strings.EqualFold(a.Host, b.Host)
}
