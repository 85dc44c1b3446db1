package reqcache

import (
	"context"

	"github.com/reqcache/reqcache/config"
	"github.com/reqcache/reqcache/session"
)

// Disabled returns a context under which requests bypass the cache, nothing
// read and nothing written: requests-cache's cache_disabled, scoped to the
// requests that carry the context.
//
//	resp, err := http.DefaultClient.Do(req.WithContext(reqcache.Disabled(ctx)))
func Disabled(ctx context.Context) context.Context { return session.Disabled(ctx) }

// Enabled returns a context under which requests use the cache again inside
// a Disabled scope. The innermost scope wins.
func Enabled(ctx context.Context) context.Context { return session.Enabled(ctx) }

// OnlyIfCached returns a context under which requests are answered only
// from the cache; when nothing is cached the answer is 504 Gateway Timeout
// and the origin is not contacted.
func OnlyIfCached(ctx context.Context) context.Context { return session.OnlyIfCached(ctx) }

// Refresh returns a context under which cached responses are revalidated
// with the origin before use.
func Refresh(ctx context.Context) context.Context { return session.Refresh(ctx) }

// ForceRefresh returns a context under which the cache is not read; the
// response from the origin is stored.
func ForceRefresh(ctx context.Context) context.Context { return session.ForceRefresh(ctx) }

// WithExpireAfter returns a context under which new responses are stored
// with expiration e (see config.Expiration).
func WithExpireAfter(ctx context.Context, e config.Expiration) context.Context {
	return session.WithExpireAfter(ctx, e)
}
