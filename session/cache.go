package session

import (
	"bytes"
	"context"
	"errors"
	"iter"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/reqcache/reqcache/config"
	"github.com/reqcache/reqcache/internal/cachekey"
	"github.com/reqcache/reqcache/internal/reqbody"
	"github.com/reqcache/reqcache/stores"
)

// Cache inspects and manages what a session has stored (requests-cache's
// session.cache). Get one from Session.Cache.
type Cache struct {
	s *Session
}

// Selector chooses entries to delete or test for, like the arguments of
// requests-cache's cache.delete. An entry is selected when any set field
// selects it; the zero Selector selects nothing.
type Selector struct {
	// Keys are cache keys.
	Keys []string
	// URLs are compared with the stored (normalized, redacted) URL of every
	// entry, whatever the method or headers of the request that stored it.
	URLs []string
	// Requests select the entries those requests would be answered from,
	// and their URL's stored part.
	Requests []*http.Request
	// Expired selects entries past their expiration.
	Expired bool
	// OlderThan, when positive, selects entries created longer ago.
	OlderThan time.Duration
}

func (sel Selector) empty() bool {
	return len(sel.Keys) == 0 && len(sel.URLs) == 0 && len(sel.Requests) == 0 && !sel.Expired && sel.OlderThan <= 0
}

// Len returns the number of stored responses.
func (c *Cache) Len(ctx context.Context) (int, error) { return c.s.reads.Len(ctx) }

// Clear removes every stored response and alias except the credential key
// (CredentialKeyAlias): without it the next process would derive new keys,
// and processes still running would stop sharing entries for requests with
// credentials.
func (c *Cache) Clear(ctx context.Context) error { return c.s.clearStore(ctx) }

// URLs returns the URLs of the stored responses that every filter given
// selects (requests-cache's urls(**filter)), sorted and unique, as stored:
// normalized, with ignored parameters REDACTED.
func (c *Cache) URLs(ctx context.Context, filters ...Filter) ([]string, error) {
	var urls []string
	now := c.s.now()
	err := c.s.reads.Scan(ctx, func(e *stores.Entry) bool {
		for i := range filters {
			if !filters[i].selects(e, now) {
				return true
			}
		}
		urls = append(urls, e.URL)
		return true
	})
	if err != nil {
		return nil, err
	}
	slices.Sort(urls)
	return slices.Compact(urls), nil
}

// Contains reports whether any stored response is selected by sel.
func (c *Cache) Contains(ctx context.Context, sel Selector) (bool, error) {
	found := false
	err := c.visit(ctx, sel, func(string) bool { found = true; return false })
	return found, err
}

// Delete removes the responses selected by sel and returns how many.
func (c *Cache) Delete(ctx context.Context, sel Selector) (int, error) {
	if sel.empty() {
		return 0, nil
	}
	now := c.s.now()
	deleted := 0
	scanSel := sel
	if sel.Expired || sel.OlderThan > 0 {
		// The store does the time-based part where the data lives, when
		// it can.
		var cond stores.Condition
		if sel.Expired {
			cond.ExpiredAt = now
		}
		if sel.OlderThan > 0 {
			cond.CreatedBefore = now.Add(-sel.OlderThan)
		}
		n, done, err := c.s.deleteWhere(ctx, cond)
		if err != nil {
			return 0, err
		}
		if done {
			deleted += n
			scanSel.Expired, scanSel.OlderThan = false, 0
		}
	}
	var keys []string
	if err := c.visit(ctx, scanSel, func(k string) bool { keys = append(keys, k); return true }); err != nil {
		return deleted, err
	}
	if len(keys) == 0 {
		return deleted, nil
	}
	slices.Sort(keys)
	keys = slices.Compact(keys)
	n, err := c.s.deleteEntries(ctx, keys...)
	return deleted + n, err
}

// visit calls fn with the key of every stored entry sel selects (keys may
// repeat), until fn returns false.
func (c *Cache) visit(ctx context.Context, sel Selector, fn func(key string) bool) error {
	if sel.empty() {
		return nil
	}
	p := c.s.policy.Load()
	direct := slices.Clone(sel.Keys)
	for _, r := range sel.Requests {
		if r == nil || r.URL == nil {
			continue
		}
		var body []byte
		if r.Body != nil && r.Body != http.NoBody {
			b, whole, err := reqbody.Read(r, p.MaxBodyBytes)
			if err != nil {
				return err
			}
			if whole != nil {
				whole.Close()
			}
			body = b
		}
		direct = append(direct, c.s.keysFor(ctx, p, r, body)...)
	}
	for _, k := range direct {
		_, err := c.s.reads.Get(ctx, k)
		if err == nil || errors.Is(err, stores.ErrCorrupt) {
			if !fn(k) {
				return nil
			}
		} else if !errors.Is(err, stores.ErrNotFound) {
			return err
		}
	}
	if len(sel.URLs) == 0 && !sel.Expired && sel.OlderThan <= 0 {
		return nil
	}
	urls := make(map[string]bool, len(sel.URLs))
	for _, raw := range sel.URLs {
		u, err := url.Parse(raw)
		if err != nil {
			return err
		}
		urls[p.keys.RedactedURL(u)] = true
	}
	now := c.s.now()
	return c.s.reads.Scan(ctx, func(e *stores.Entry) bool {
		if urls[e.URL] ||
			(sel.Expired && e.Expired(now)) ||
			(sel.OlderThan > 0 && now.Sub(e.CreatedAt) > sel.OlderThan) {
			return fn(e.Key)
		}
		return true
	})
}

// Bytes returns how many bytes the store holds, as the store counts them
// without a scan (bigcache's count; MongoDB's collection size); ok is false
// for a store that cannot say.
func (c *Cache) Bytes(ctx context.Context) (n int64, ok bool, err error) {
	if c.s.opt.Sizer == nil {
		return 0, false, nil
	}
	n, err = c.s.opt.Sizer.Bytes(ctx)
	return n, err == nil, err
}

// Filter chooses the responses Responses yields. The zero Filter yields
// every stored response.
type Filter struct {
	// Fresh and Expired restrict to fresh or to expired responses; both
	// false (or both true) yield both.
	Fresh, Expired bool
	// OlderThan, when positive, yields only responses created longer ago.
	OlderThan time.Duration
	// Host, when set, yields only responses from that host: "example.com"
	// matches every port of it, "example.com:8443" that port alone.
	Host string
}

// selects reports whether f lets the entry through at now.
func (f *Filter) selects(e *stores.Entry, now time.Time) bool {
	if f.Fresh != f.Expired && e.Expired(now) != f.Expired {
		return false
	}
	if f.OlderThan > 0 && now.Sub(e.CreatedAt) <= f.OlderThan {
		return false
	}
	return f.Host == "" || cachekey.HostMatches(e.URL, f.Host)
}

// CachedResponse is one stored response, as yielded by Responses.
type CachedResponse struct {
	*stores.Entry
	// IsExpired reports whether the response was stale when it was read.
	IsExpired bool
}

// Response returns the stored response as an *http.Response (with its own
// header and body copies).
func (r *CachedResponse) Response() *http.Response {
	u, _ := url.Parse(r.URL)
	req := &http.Request{Method: r.Method, URL: u, Header: r.RequestHeader.Clone()}
	return responseFrom(cloneEntry(r.Entry), req, nil)
}

// Responses yields the stored responses chosen by f, in no order. A store
// error ends the sequence with that error.
func (c *Cache) Responses(ctx context.Context, f Filter) iter.Seq2[*CachedResponse, error] {
	return func(yield func(*CachedResponse, error) bool) {
		now := c.s.now()
		stopped := false
		err := c.s.reads.Scan(ctx, func(e *stores.Entry) bool {
			if !f.selects(e, now) {
				return true
			}
			if !yield(&CachedResponse{Entry: e, IsExpired: e.Expired(now)}, nil) {
				stopped = true
				return false
			}
			return true
		})
		if err != nil && !stopped {
			yield(nil, err)
		}
	}
}

// cloneEntry copies e deeply, for code that hands it to user functions.
func cloneEntry(e *stores.Entry) *stores.Entry {
	c := *e
	c.Header = e.Header.Clone()
	c.RequestHeader = e.RequestHeader.Clone()
	c.Body = bytes.Clone(e.Body)
	return &c
}

// ResetExpiration gives every stored response a new expiration counted from
// now (requests-cache's reset_expiration). It returns how many were
// updated.
func (c *Cache) ResetExpiration(ctx context.Context, exp config.Expiration) (int, error) {
	now := c.s.now()
	expiresAt, keep := exp.ExpiresAt(now)
	var entries []*stores.Entry
	if err := c.s.reads.Scan(ctx, func(e *stores.Entry) bool {
		entries = append(entries, e)
		return true
	}); err != nil {
		return 0, err
	}
	if !keep {
		keys := make([]string, len(entries))
		for i, e := range entries {
			keys[i] = e.Key
		}
		if len(keys) == 0 {
			return 0, nil
		}
		return c.s.deleteEntries(ctx, keys...)
	}
	n := 0
	for _, e := range entries {
		e.ExpiresAt, e.Lifetime = expiresAt, stores.LifetimeReset
		if err := c.s.rewriteExpiry(ctx, e); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// Reseal writes every stored response again, so that the store seals it
// with the first [encryption] key (after a rotation: `reqcache reseal`).
// The content is unchanged. It returns how many were written and how many
// were skipped: unreadable with the keys held (sealed elsewhere), gone, or
// overtaken by another process's invalidation meanwhile. A store that does
// not seal writes them as they were.
func (c *Cache) Reseal(ctx context.Context) (resealed, skipped int, err error) {
	// The keys first, then each response read and written again: a scan
	// that writes what it reads could meet a document twice.
	var keys []string
	if err := c.s.reads.Scan(ctx, func(e *stores.Entry) bool { keys = append(keys, e.Key); return true }); err != nil {
		return 0, 0, err
	}
	total, err := c.s.reads.Len(ctx)
	if err != nil {
		return 0, 0, err
	}
	for _, k := range keys {
		e, err := c.s.reads.Get(ctx, k)
		if err != nil {
			continue
		}
		if err := c.s.rewriteSealing(ctx, e); err != nil {
			if errors.Is(err, stores.ErrOvertaken) {
				continue
			}
			return resealed, max(total-resealed, 0), err
		}
		resealed++
	}
	return resealed, max(total-resealed, 0), nil
}
