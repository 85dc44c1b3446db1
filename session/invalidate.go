package session

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"

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

// An invalidation the store could not carry out (an outage: its delete
// failed) must not leave the old answer usable. The resource is kept in
// the session's unsure set, and every entry of it a read finds is refused
// (a miss) and its deletion tried again, until one succeeds. This is this
// process's knowledge alone: the other processes of a fleet still read
// what MongoDB holds until the entries expire (docs/mongodb.md).

// maxUnsure bounds the set: past it (an outage through 65,536 unsafe
// requests), every entry is refused until the deletions go through.
const maxUnsure = 1 << 16

// unsureSet is the resources whose invalidation is owed. Reads look at it
// only when it is not empty (one atomic load on a hit).
type unsureSet struct {
	n    atomic.Int64
	mu   sync.Mutex
	uris map[string]struct{}
	all  bool // past maxUnsure: every resource is unsure
}

func (u *unsureSet) add(uri string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.uris == nil {
		u.uris = map[string]struct{}{}
	}
	if len(u.uris) >= maxUnsure {
		u.all = true
	} else {
		u.uris[uri] = struct{}{}
	}
	u.n.Store(int64(len(u.uris)) + boolInt(u.all))
}

// has reports a resource whose entries may not be used.
func (u *unsureSet) has(uri string) bool {
	if u.n.Load() == 0 {
		return false
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	_, ok := u.uris[uri]
	return ok || u.all
}

// done removes a resource whose entries are now deleted (all of them,
// when the set was full and the last owed resource went).
func (u *unsureSet) done(uri string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	delete(u.uris, uri)
	if len(u.uris) == 0 {
		u.all = false
	}
	u.n.Store(int64(len(u.uris)) + boolInt(u.all))
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// owed is a read of an entry whose resource's invalidation is owed: it
// tries the deletion again, and the entry is refused either way (it may be
// the old answer).
func (s *Session) owed(ctx context.Context, e *stores.Entry) bool {
	if !s.unsure.has(e.URIKey) {
		return false
	}
	if _, err := s.deleteURI(ctx, e.URIKey, []string{e.Key}); err == nil {
		s.unsure.done(e.URIKey)
		if ce := s.log.Check(zap.InfoLevel, "reqcache: an owed invalidation was carried out"); ce != nil {
			ce.Write(zap.String("url", e.URL))
		}
	}
	return true
}
