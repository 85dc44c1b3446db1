package session

import (
	"context"
	"net/http"

	"go.uber.org/zap"

	"github.com/reqcache/reqcache/internal/rules"
	"github.com/reqcache/reqcache/stores"
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

// owed is a read of an entry whose resource's invalidation is owed (the
// store's delete failed: marks.Owed): it tries the deletion again, and the
// entry is refused either way (it may be the old answer). The other
// processes of a fleet still read what MongoDB holds until the entries
// expire (docs/mongodb.md).
func (s *Session) owed(ctx context.Context, e *stores.Entry) bool {
	if !s.owedInvalidations.Has(e.URIKey) {
		return false
	}
	if _, err := s.deleteURI(ctx, e.URIKey, []string{e.Key}); err == nil {
		s.owedInvalidations.Done(e.URIKey)
		if ce := s.log.Check(zap.InfoLevel, "reqcache: an owed invalidation was carried out"); ce != nil {
			ce.Write(zap.String("url", e.URL))
		}
	}
	return true
}
