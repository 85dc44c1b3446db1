package session_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/reqcache/reqcache/config"
	"github.com/reqcache/reqcache/session"
)

// With no settings at all (config.Default, what Install uses without a
// file), a global patch of every library must not keep what an origin
// marks no-store — a payment SDK's balance, say — and must revalidate what
// it marks no-cache.
func TestDefaultsHonourCacheControl(t *testing.T) {
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/balance":
			w.Header().Set("Cache-Control", "no-cache, no-store")
		case "/profile":
			w.Header().Set("Cache-Control", "no-cache")
			w.Header().Set("ETag", `"p1"`)
			if r.Header.Get("If-None-Match") == `"p1"` {
				w.WriteHeader(http.StatusNotModified)
				return
			}
		}
		io.WriteString(w, "body of "+r.URL.Path)
	})
	s := newSession(t, nil)
	c := s.Client()
	for range 2 {
		if body, resp := get(t, c, o.URL+"/balance"); body != "body of /balance" || session.InfoOf(resp).FromCache {
			t.Fatalf("no-store under the defaults: %q %+v", body, session.InfoOf(resp))
		}
	}
	wantCount(t, o, 2)
	if n, _ := s.Cache().Len(context.Background()); n != 0 {
		t.Fatalf("a no-store response was stored under the defaults: %d entries", n)
	}

	get(t, c, o.URL+"/profile")
	body, resp := get(t, c, o.URL+"/profile")
	if info := session.InfoOf(resp); body != "body of /profile" || !info.Revalidated || o.lastRequest().Header.Get("If-None-Match") != `"p1"` {
		t.Fatalf("no-cache under the defaults: %q %+v, the origin saw %v", body, info, o.lastRequest().Header)
	}
	wantCount(t, o, 4)
}

// A lifetime the user wrote beats one the cache guessed: expire_after
// other than its default applies to a response whose only hint is an old
// Last-Modified; with the default (never) the heuristic fills in.
func TestWrittenLifetimeBeatsTheHeuristic(t *testing.T) {
	lastModified := time.Now().Add(-10 * 24 * time.Hour).UTC().Format(http.TimeFormat)
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Last-Modified", lastModified)
		io.WriteString(w, "object")
	})
	for _, tc := range []struct {
		name        string
		expireAfter config.Expiration
		want        time.Duration
		heuristic   bool
	}{
		{"expire_after written", config.After(5 * time.Minute), 5 * time.Minute, false},
		{"expire_after's default", config.NeverExpire, 24 * time.Hour, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSession(t, func(c *config.Config) { c.ExpireAfter = tc.expireAfter })
			_, resp := get(t, s.Client(), o.URL+"/"+strings.ReplaceAll(tc.name, " ", "-"))
			info := session.InfoOf(resp)
			if life := info.Expires.Sub(info.CreatedAt); life < tc.want-2*time.Second || life > tc.want+2*time.Second || info.Heuristic != tc.heuristic {
				t.Fatalf("lifetime %v (heuristic %v), want %v (heuristic %v); Cache-Status %q",
					life, info.Heuristic, tc.want, tc.heuristic, resp.Header.Get("Cache-Status"))
			}
		})
	}
}

// A request's own Cache-Control: stale-if-error=N (RFC 5861 §4) lets an
// expired entry answer when the origin fails, within N seconds of
// staleness, with no setting and nothing in the response.
func TestRequestStaleIfError(t *testing.T) {
	clk := newClock()
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=10")
		io.WriteString(w, "v1")
	})
	s := newSession(t, nil, session.WithClock(clk.Now))
	c := s.Client()
	get(t, c, o.URL)
	o.serve(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "down", http.StatusInternalServerError) })
	clk.Advance(30 * time.Second) // 20 s stale

	withDirective := func(cc string) *http.Request {
		req := mustRequest(t, http.MethodGet, o.URL, nil)
		req.Header.Set("Cache-Control", cc)
		return req
	}
	if _, resp := get(t, c, o.URL); resp.StatusCode != http.StatusInternalServerError {
		t.Fatalf("without the directive: status %d, want the origin's 500", resp.StatusCode)
	}
	if body, resp := do(t, c, withDirective("stale-if-error=60")); body != "v1" || !session.InfoOf(resp).Expired {
		t.Fatalf("stale-if-error=60 at 20 s stale: %d %q %+v", resp.StatusCode, body, session.InfoOf(resp))
	}
	if _, resp := do(t, c, withDirective("stale-if-error=5")); resp.StatusCode != http.StatusInternalServerError {
		t.Fatalf("stale-if-error=5 at 20 s stale: status %d, want the origin's 500", resp.StatusCode)
	}
	wantCount(t, o, 4)
}
