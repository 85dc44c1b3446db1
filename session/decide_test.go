package session_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/reqcache/reqcache/config"
	"github.com/reqcache/reqcache/session"
)

// From the decision to the answer: one stored response (max-age=60, an
// ETag unless noETag), a request after age seconds, and what the caller
// gets — the action internal/rules chose, seen as a user sees it: the
// origin's requests, Cache-Status and Info.
func TestDecisionToAnswer(t *testing.T) {
	for _, tc := range []struct {
		name     string
		age      time.Duration
		noETag   bool
		settings func(*config.Config)
		req      func(*http.Request) *http.Request
		trips    int64  // requests reaching the origin for the second request
		status   string // Cache-Status, up to its ttl
		info     func(session.Info) bool
		code     int
	}{
		{name: "fresh: served", age: 30 * time.Second, status: "reqcache; hit",
			info: func(i session.Info) bool { return i.FromCache && !i.Expired }},
		{name: "stale with a validator: revalidated (304)", age: 2 * time.Minute, trips: 1, status: "reqcache; fwd=stale; fwd-status=304",
			info: func(i session.Info) bool { return i.FromCache && i.Revalidated }},
		{name: "stale without a validator: fetched", age: 2 * time.Minute, noETag: true, trips: 1, status: "reqcache; fwd=stale; stored",
			info: func(i session.Info) bool { return !i.FromCache }},
		{name: "stale within max-stale: served stale", age: 2 * time.Minute,
			req:    func(r *http.Request) *http.Request { r.Header.Set("Cache-Control", "max-stale=120"); return r },
			status: "reqcache; hit; ttl=-60; detail=max-stale", info: func(i session.Info) bool { return i.Expired }},
		{name: "request no-cache: revalidated", age: time.Second, trips: 1,
			req:    func(r *http.Request) *http.Request { r.Header.Set("Cache-Control", "no-cache"); return r },
			status: "reqcache; fwd=stale; fwd-status=304", info: func(i session.Info) bool { return i.Revalidated }},
		{name: "ForceRefresh: fetched", age: time.Second, trips: 1,
			req:    func(r *http.Request) *http.Request { return withCtx(r, session.ForceRefresh) },
			status: "reqcache; fwd=request; stored", info: func(i session.Info) bool { return !i.FromCache }},
		{name: "always_revalidate: revalidated while fresh", age: time.Second, trips: 1,
			settings: func(c *config.Config) { c.AlwaysRevalidate = true },
			status:   "reqcache; fwd=stale; fwd-status=304", info: func(i session.Info) bool { return i.Revalidated }},
		{name: "stale_while_revalidate: served stale, refreshed behind", age: 2 * time.Minute, trips: 1,
			settings: func(c *config.Config) { c.StaleWhileRevalidate = config.StaleLimit{Enabled: true} },
			status:   "reqcache; hit; ttl=-60; detail=stale-while-revalidate", info: func(i session.Info) bool { return i.Expired }},
		{name: "only_if_cached, fresh: served", age: time.Second,
			req:    func(r *http.Request) *http.Request { return withCtx(r, session.OnlyIfCached) },
			status: "reqcache; hit", info: func(i session.Info) bool { return i.FromCache }},
		{name: "only_if_cached, stale: the 504", age: 2 * time.Minute, code: http.StatusGatewayTimeout,
			req:    func(r *http.Request) *http.Request { return withCtx(r, session.OnlyIfCached) },
			status: "reqcache; detail=only-if-cached", info: func(i session.Info) bool { return !i.FromCache }},
		{name: "only-if-cached directive, stale: the 504", age: 2 * time.Minute, code: http.StatusGatewayTimeout,
			req:    func(r *http.Request) *http.Request { r.Header.Set("Cache-Control", "only-if-cached"); return r },
			status: "reqcache; detail=only-if-cached", info: func(i session.Info) bool { return !i.FromCache }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := newClock()
			o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", "max-age=60")
				w.Header().Set("Date", clk.Now().Format(http.TimeFormat))
				if !tc.noETag {
					w.Header().Set("ETag", `"v1"`)
					if r.Header.Get("If-None-Match") == `"v1"` {
						w.WriteHeader(http.StatusNotModified)
						return
					}
				}
				io.WriteString(w, "body")
			})
			s := newSession(t, func(c *config.Config) {
				c.CacheControl = true
				if tc.settings != nil {
					tc.settings(c)
				}
			}, session.WithClock(clk.Now))
			get(t, s.Client(), o.URL)
			clk.Advance(tc.age)
			req := mustRequest(t, "GET", o.URL, nil)
			if tc.req != nil {
				req = tc.req(req)
			}
			body, resp := do(t, s.Client(), req)
			for deadline := time.Now().Add(2 * time.Second); o.count() < 1+tc.trips && time.Now().Before(deadline); {
				time.Sleep(time.Millisecond) // a background refresh on its way
			}
			code := tc.code
			if code == 0 {
				code = http.StatusOK
			}
			if resp.StatusCode != code || code == 200 && body != "body" {
				t.Fatalf("status %d %q, want %d", resp.StatusCode, body, code)
			}
			if cs := resp.Header.Get("Cache-Status"); !strings.HasPrefix(cs, tc.status) {
				t.Fatalf("Cache-Status %q, want %q…", cs, tc.status)
			}
			if !tc.info(session.InfoOf(resp)) {
				t.Fatalf("Info %+v", session.InfoOf(resp))
			}
			wantCount(t, o, 1+tc.trips)
		})
	}
}
