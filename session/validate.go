package session

import (
	"context"
	"net/http"
	"time"

	"github.com/reqcache/reqcache/internal/rules"
	"github.com/reqcache/reqcache/stores"
)

// This file is validation (RFC 9111 §4.3): conditional requests built from
// a stored entry's ETag and Last-Modified, and the handling of 304.

// conditionalRequest is a copy of req made conditional on e's validators
// (rules.Conditional); ok is false when it cannot be.
func conditionalRequest(req *http.Request, e *stores.Entry) (*http.Request, bool) {
	h, ok := rules.Conditional(req.Header, e.Header)
	if !ok {
		return req, false
	}
	out := *req
	out.Header = h
	return &out, true
}

// notModified handles a 304 to a conditional request made for the entry f
// found: it merges the 304's header into the entry (rules.Merge: what a
// store never keeps, a 304 never brings in), passes the result through the
// one storability decision, has the writer save it when something changed
// (or delete it when it may no longer be stored), and answers from it.
func (s *Session) notModified(ctx context.Context, x *exchange, f found, resp *http.Response, requestedAt, receivedAt time.Time) *storedAnswer {
	e := f.e // read only: the store may have lent it
	merged, changed := rules.Merge(e.Header, resp.Header)
	updated := *e
	updated.Header = merged
	updated.RequestedAt = requestedAt
	updated.CreatedAt = receivedAt
	// The old Date's: the writer derives the new one (an answer it does
	// not write reads the merged header).
	updated.GeneratedAt = time.Time{}
	updated.URIKey = x.uriKey()

	a := s.admit(x, e.StatusCode, merged, requestedAt, receivedAt)
	updated.ExpiresAt, updated.Lifetime = a.ExpiresAt, a.Lifetime
	if changed || rules.ExpiryChanged(e.ExpiresAt, e.CreatedAt, a.ExpiresAt, receivedAt) || a.refused != "" || s.overtaken(x, updated.URIKey) {
		s.write(ctx, x, &entryWrite{kind: writeMerge, f: f, a: a, e: &updated})
	}
	return &storedAnswer{entry: &updated, key: f.key, how: answered{revalidated: true}, setCookie: resp.Header["Set-Cookie"]}
}
