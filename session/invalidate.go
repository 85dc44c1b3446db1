package session

import (
	"context"
	"net/http"

	"github.com/reqcache/reqcache/internal/rules"
)

// This file is invalidation (RFC 9111 §4.4): a non-error response to an
// unsafe request makes every stored response for its URI unusable — every
// method, variant, part, alias and principal's entry, through the index of
// resources (index.go, stores.URIIndex) — and for the same-origin URIs in
// its Location and Content-Location (rules.InvalidationTargets). The
// targets are sent to the unsafe request's Host: keys hold a Host that
// differs from the URL's (a reverse proxy's), and the targets share the
// request's origin. Each is marked first (internal/marks), so that no
// write of a trip already under way lands over it.
func (s *Session) invalidate(ctx context.Context, x *exchange, resp *http.Response) {
	n := 0
	for _, u := range rules.InvalidationTargets(x.req.URL, resp.Header) {
		n += s.invalidateURI(ctx, x.p, u, x.req.Host)
	}
	if n > 0 {
		s.stats.invalidated.Add(int64(n))
	}
}
