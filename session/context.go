package session

import (
	"context"

	"github.com/reqcache/reqcache/config"
	"github.com/reqcache/reqcache/internal/rules"
)

// requestOptions are the per-request choices carried by a context. One value
// under one key: each helper copies its parent's options and changes one
// field, so the innermost scope wins and a request costs one lookup.
type requestOptions struct {
	// use is Disabled's or Enabled's choice, innermost first; useDefault
	// leaves it to the disabled setting.
	use cacheUse
	// Options are OnlyIfCached's, Refresh's and ForceRefresh's; an
	// exchange keeps them in its rules.Request, once.
	rules.Options
	expireAfter config.Expiration
}

type cacheUse int8

const (
	useDefault cacheUse = iota
	useDisabled
	useEnabled
)

type optionsKey struct{}

func optionsFrom(ctx context.Context) requestOptions {
	if ctx == nil {
		return requestOptions{}
	}
	o, _ := ctx.Value(optionsKey{}).(*requestOptions)
	if o == nil {
		return requestOptions{}
	}
	return *o
}

func withOptions(ctx context.Context, change func(*requestOptions)) context.Context {
	if ctx == nil {
		ctx = context.Background()
	}
	o := optionsFrom(ctx)
	change(&o)
	return context.WithValue(ctx, optionsKey{}, &o)
}

// Disabled returns a context under which requests bypass the cache: nothing
// is read from it and nothing written (requests-cache's cache_disabled).
// Enabled inside it turns caching back on; the innermost scope wins.
func Disabled(ctx context.Context) context.Context {
	return withOptions(ctx, func(o *requestOptions) { o.use = useDisabled })
}

// Enabled returns a context under which requests use the cache, inside a
// Disabled scope or with the disabled setting on. The innermost scope wins.
func Enabled(ctx context.Context) context.Context {
	return withOptions(ctx, func(o *requestOptions) { o.use = useEnabled })
}

// OnlyIfCached returns a context under which requests are answered only from
// the cache; when nothing usable is cached — nothing stored, an expired
// entry where stale use is not allowed (stale_if_error, a stale-if-error
// directive, the request's max-stale), a request that asks for the origin
// itself — the answer is a 504 Gateway Timeout and the origin is not
// contacted.
func OnlyIfCached(ctx context.Context) context.Context {
	return withOptions(ctx, func(o *requestOptions) { o.OnlyIfCached = true })
}

// Refresh returns a context under which a cached response is revalidated
// with the origin (a conditional request when it has a validator) before use.
func Refresh(ctx context.Context) context.Context {
	return withOptions(ctx, func(o *requestOptions) { o.Refresh = true })
}

// ForceRefresh returns a context under which requests ignore what is cached,
// go to the origin, and store the new response.
func ForceRefresh(ctx context.Context) context.Context {
	return withOptions(ctx, func(o *requestOptions) { o.ForceRefresh = true })
}

// WithExpireAfter returns a context under which responses are stored with
// expiration e, ahead of urls_expire_after and expire_after (but after
// Cache-Control headers, see docs/configuration.md for the precedence).
func WithExpireAfter(ctx context.Context, e config.Expiration) context.Context {
	return withOptions(ctx, func(o *requestOptions) { o.expireAfter = e })
}
