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

// A write that a trip brings races an invalidation of the same resource:
// the origin may have answered the trip before the unsafe request changed
// it, and the write land after the invalidation deleted what was stored —
// bringing the old representation back for good. So every invalidation is
// counted and marked on its resource's bucket before it deletes, and a
// write made for an exchange that began before such a mark is not made, or
// undone when the mark came while it was being made (written makes the
// check: whichever of the delete and the write comes last, nothing
// survives). A bucket shared by two resources only ever costs a write.
func (s *Session) markInvalidated(uri string) {
	s.invalidatedAt[uriBucket(uri)].Store(s.invalidations.Add(1))
}

// invalidatedSince reports an invalidation of uri's bucket after count.
func (s *Session) invalidatedSince(uri string, count uint64) bool {
	return s.invalidatedAt[uriBucket(uri)].Load() > count
}

func uriBucket(uri string) uint8 {
	h := uint32(2166136261) // FNV-1a
	for i := 0; i < len(uri); i++ {
		h = (h ^ uint32(uri[i])) * 16777619
	}
	return uint8(h)
}

func sameOrigin(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) && strings.EqualFold(a.Host, b.Host)
}
