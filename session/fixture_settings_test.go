package session_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/reqcache/reqcache/config"
	"github.com/reqcache/reqcache/session"
)

// connCountingOrigin counts the connections its listener accepts.
func connCountingOrigin(t *testing.T) (*httptest.Server, *atomic.Int64) {
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"e"`)
		io.WriteString(w, "origin "+r.URL.Path)
	}))
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, &conns
}

func TestOnlyIfCachedSettingOpensNoConnection(t *testing.T) {
	srv, conns := connCountingOrigin(t)
	clk := newClock()
	tr := ownTransport(t)
	s := newSession(t, func(c *config.Config) { c.ExpireAfter = config.After(time.Minute) }, session.WithClock(clk.Now), session.WithUpstream(tr))
	c := s.Client()
	get(t, c, srv.URL+"/fresh")
	get(t, c, srv.URL+"/stale")
	tr.CloseIdleConnections()
	before := conns.Load()

	st := s.Settings()
	st.OnlyIfCached = true
	if err := s.SetSettings(st); err != nil {
		t.Fatal(err)
	}
	clk.Advance(30 * time.Second)
	if body, resp := get(t, c, srv.URL+"/fresh"); body != "origin /fresh" || !session.InfoOf(resp).FromCache {
		t.Fatalf("a stored response: %q from cache %v", body, session.InfoOf(resp).FromCache)
	}
	clk.Advance(time.Minute) // /stale (and /fresh) expired: the 504, never revalidated
	if _, resp := get(t, c, srv.URL+"/stale"); resp.StatusCode != http.StatusGatewayTimeout {
		t.Fatalf("an expired response: status %d", resp.StatusCode)
	}
	st.StaleIfError = config.StaleLimit{Enabled: true}
	if err := s.SetSettings(st); err != nil {
		t.Fatal(err)
	}
	if body, resp := get(t, c, srv.URL+"/stale"); body != "origin /stale" || !session.InfoOf(resp).Expired {
		t.Fatalf("an expired response with stale_if_error: %q %+v", body, session.InfoOf(resp))
	}
	for _, tc := range []struct {
		name string
		req  func() *http.Request
	}{
		{"nothing stored", func() *http.Request { return mustRequest(t, "GET", srv.URL+"/never", nil) }},
		{"a method not cached", func() *http.Request { return mustRequest(t, "POST", srv.URL+"/fresh", strings.NewReader("x")) }},
		{"a refresh", func() *http.Request {
			return withCtx(mustRequest(t, "GET", srv.URL+"/fresh", nil), session.ForceRefresh)
		}},
		{"a range not stored", func() *http.Request {
			r := mustRequest(t, "GET", srv.URL+"/never", nil)
			r.Header.Set("Range", "bytes=0-1")
			return r
		}},
		{"an upgrade", func() *http.Request {
			r := mustRequest(t, "GET", srv.URL+"/ws", nil)
			r.Header.Set("Connection", "Upgrade")
			r.Header.Set("Upgrade", "websocket")
			return r
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, resp := do(t, c, tc.req())
			// (A refresh was once answered from the cache, stale or not:
			// nothing answers it but the origin, so it is the 504.)
			want := http.StatusGatewayTimeout
			if resp.StatusCode != want {
				t.Fatalf("status %d, want %d", resp.StatusCode, want)
			}
		})
	}
	if n := conns.Load(); n != before {
		t.Fatalf("%d connections opened to the origin under only_if_cached", n-before)
	}
	// The context helper still scopes the other way: Disabled goes to the
	// network (the innermost choice wins).
	if body, _ := do(t, c, withCtx(mustRequest(t, "GET", srv.URL+"/never", nil), session.Disabled)); body != "origin /never" {
		t.Fatalf("Disabled under only_if_cached: %q", body)
	}
}

func TestDisabledSettingAndEnabledScope(t *testing.T) {
	o := newOrigin(t, text("live"))
	s := newSession(t, func(c *config.Config) { c.Disabled = true })
	c := s.Client()
	get(t, c, o.URL)
	get(t, c, o.URL)
	wantCount(t, o, 2)
	if n, _ := s.Cache().Len(context.Background()); n != 0 {
		t.Fatalf("%d entries stored with disabled = true", n)
	}
	// Enabled inside disabled = true uses the cache.
	enabled := func() *http.Request { return withCtx(mustRequest(t, "GET", o.URL, nil), session.Enabled) }
	do(t, c, enabled())
	if _, resp := do(t, c, enabled()); !session.InfoOf(resp).FromCache {
		t.Fatal("Enabled(ctx) did not use the cache under disabled = true")
	}
	wantCount(t, o, 3)
	// And Disabled inside Enabled inside the setting: the innermost wins.
	inner := withCtx(enabled(), session.Disabled)
	if _, resp := do(t, c, inner); session.InfoOf(resp).FromCache {
		t.Fatal("Disabled inside Enabled used the cache")
	}
	wantCount(t, o, 4)
}
