package session

import (
	"context"
	"net/http"
	"slices"
	"time"

	"github.com/reqcache/reqcache/stores"
)

// This file is validation (RFC 9111 §4.3): conditional requests built from
// a stored entry's ETag and Last-Modified, and the handling of 304.

// conditionalRequest adds If-None-Match / If-Modified-Since from e to a copy
// of req. ok is false when e has no validator or the caller sent its own
// conditional headers (its 304 is then its own to handle).
func conditionalRequest(req *http.Request, e *stores.Entry) (*http.Request, bool) {
	if req.Header.Get("If-None-Match") != "" || req.Header.Get("If-Modified-Since") != "" {
		return req, false
	}
	etag := e.Header.Get("ETag")
	lastModified := e.Header.Get("Last-Modified")
	if etag == "" && lastModified == "" {
		return req, false
	}
	out := *req
	out.Header = req.Header.Clone()
	if out.Header == nil {
		out.Header = make(http.Header)
	}
	if etag != "" {
		out.Header.Set("If-None-Match", etag)
	}
	if lastModified != "" {
		out.Header.Set("If-Modified-Since", lastModified)
	}
	return &out, true
}

// notUpdated lists 304 fields that never replace stored ones (RFC 9111
// §3.2: they describe the 304 message, not the stored representation).
var notUpdated = map[string]bool{
	"Content-Length": true, "Content-Encoding": true, "Transfer-Encoding": true,
	"Content-Range": true, "Cache-Status": true, "Connection": true, "Keep-Alive": true,
	"Te": true, "Trailer": true, "Upgrade": true,
}

// changeIrrelevant fields change on every 304 without changing the entry in
// a way worth a write.
var changeIrrelevant = map[string]bool{"Date": true, "Age": true, "Set-Cookie": true}

// notModified handles a 304 to a conditional request made for entry e: it
// merges the 304's headers into the entry, recomputes its freshness, saves
// it when something changed, and answers from it.
func (s *Session) notModified(ctx context.Context, x *exchange, e *stores.Entry, entryKey string, resp *http.Response, requestedAt, receivedAt time.Time) *fetchResult {
	merged := e.Header.Clone()
	changed := false
	for name, vs := range resp.Header {
		if notUpdated[name] {
			continue
		}
		if !slices.Equal(merged[name], vs) {
			merged[name] = slices.Clone(vs)
			if !changeIrrelevant[name] {
				changed = true
			}
		}
	}
	updated := *e
	updated.Header = merged
	updated.RequestedAt = requestedAt
	updated.CreatedAt = receivedAt

	// The merged response passes the same gate as a new one: a 304 can
	// bring Set-Cookie, Vary or no-store.
	f, _, reason := x.p.storeRules(x, e.StatusCode, merged, requestedAt, receivedAt)
	updated.ExpiresAt = f.ExpiresAt
	staleBefore := !e.ExpiresAt.IsZero() && !e.ExpiresAt.After(e.CreatedAt)
	staleNow := !f.ExpiresAt.IsZero() && !f.ExpiresAt.After(receivedAt)
	if !f.ExpiresAt.Equal(e.ExpiresAt) && !(staleBefore && staleNow) {
		changed = true
	}
	switch {
	case x.p.ReadOnly:
	case reason != "":
		s.deleteKeys(ctx, entryKey)
	case changed:
		stored := updated
		stored.Header = storableHeader(merged)
		if err := s.store.Set(ctx, &stored); err != nil {
			s.storeError("set", err)
		}
	}
	return s.entryResult(&updated, entryKey, Info{Revalidated: true}, "stale", http.StatusNotModified, "")
}
