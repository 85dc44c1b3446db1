package session

import (
	"context"
	"net/http"
	"net/url"
	"strings"
)

// This file is invalidation (RFC 9111 §4.4): a non-error response to an
// unsafe request makes every stored response for its URI unusable — every
// method, variant, part, alias and principal's entry, through the index of
// resources (index.go, stores.URIIndex) — and for the same-origin URIs in
// its Location and Content-Location. The targets are sent to the unsafe
// request's Host: keys hold a Host that differs from the URL's (a reverse
// proxy's), and the targets share the request's origin.
func (s *Session) invalidate(ctx context.Context, x *exchange, resp *http.Response) {
	req := x.req
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
	n := 0
	for _, u := range targets {
		n += s.invalidateURI(ctx, x.p, u, req.Host)
	}
	if n > 0 {
		s.stats.invalidated.Add(int64(n))
	}
}

func sameOrigin(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) && strings.EqualFold(a.Host, b.Host)
}
