package session_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/reqcache/reqcache/config"
	"github.com/reqcache/reqcache/session"
)

// versioned is an origin handler with an ETag that answers 304 to a
// matching If-None-Match, and counts the 304s.
type versioned struct {
	mu       sync.Mutex
	version  int
	extra    http.Header
	notMod   atomic.Int64
	noETag   bool
	lastMod  bool
	failWith int // status to fail with, 0 for none
}

func (v *versioned) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	v.mu.Lock()
	version, fail := v.version, v.failWith
	for k, vs := range v.extra {
		w.Header()[k] = vs
	}
	v.mu.Unlock()
	if fail != 0 {
		http.Error(w, "failing", fail)
		return
	}
	etag := fmt.Sprintf(`"v%d"`, version)
	if !v.noETag {
		w.Header().Set("ETag", etag)
	}
	if v.lastMod {
		w.Header().Set("Last-Modified", "Mon, 02 Jan 2006 15:04:05 GMT")
		if r.Header.Get("If-Modified-Since") != "" {
			v.notMod.Add(1)
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	if !v.noETag && r.Header.Get("If-None-Match") == etag {
		v.notMod.Add(1)
		w.WriteHeader(http.StatusNotModified)
		return
	}
	fmt.Fprintf(w, "version %d", version)
}

func (v *versioned) set(f func(v *versioned)) {
	v.mu.Lock()
	f(v)
	v.mu.Unlock()
}

func TestValidators304Matrix(t *testing.T) {
	v := &versioned{version: 1}
	o := newOrigin(t, v.ServeHTTP)
	clk := newClock()
	s := newSession(t, func(c *config.Config) { c.ExpireAfter = config.After(time.Minute) }, session.WithClock(clk.Now))
	c := s.Client()

	get(t, c, o.URL)
	// fresh hit: origin untouched
	if body, resp := get(t, c, o.URL); body != "version 1" || !session.InfoOf(resp).FromCache {
		t.Fatalf("fresh hit: %q %+v", body, session.InfoOf(resp))
	}
	wantCount(t, o, 1)
	// expired + 304: answered from the cache, revalidated, expiry renewed
	clk.Advance(2 * time.Minute)
	body, resp := get(t, c, o.URL)
	info := session.InfoOf(resp)
	if body != "version 1" || !info.Revalidated || !info.FromCache || v.notMod.Load() != 1 {
		t.Fatalf("expired+304: %q %+v", body, info)
	}
	if cs := resp.Header.Get("Cache-Status"); cs != "reqcache; fwd=stale; fwd-status=304; ttl=60" {
		t.Fatalf("Cache-Status after 304: %q", cs)
	}
	if got := o.lastRequest().Header.Get("If-None-Match"); got != `"v1"` {
		t.Fatalf("conditional request carried If-None-Match %q", got)
	}
	get(t, c, o.URL) // fresh again after the 304
	wantCount(t, o, 2)
	// expired + 200: the new version replaces the entry
	v.set(func(v *versioned) { v.version = 2 })
	clk.Advance(2 * time.Minute)
	if body, resp := get(t, c, o.URL); body != "version 2" || session.InfoOf(resp).FromCache || !session.InfoOf(resp).Stored {
		t.Fatalf("expired+200: %q %+v", body, session.InfoOf(resp))
	}
	if body, _ := get(t, c, o.URL); body != "version 2" {
		t.Fatalf("after 200: %q", body)
	}
	wantCount(t, o, 3)
	// 304 with nothing stored: the caller's own conditional request gets
	// the origin's 304 untouched.
	req := mustRequest(t, http.MethodGet, o.URL+"/other", nil)
	req.Header.Set("If-None-Match", `"v2"`)
	if _, resp := do(t, c, req); resp.StatusCode != http.StatusNotModified || session.InfoOf(resp).FromCache {
		t.Fatalf("304 with nothing stored: %d %+v", resp.StatusCode, session.InfoOf(resp))
	}
}

func TestRefreshWithAndWithoutValidator(t *testing.T) {
	for _, noETag := range []bool{false, true} {
		t.Run(fmt.Sprintf("noETag=%v", noETag), func(t *testing.T) {
			v := &versioned{version: 1, noETag: noETag}
			o := newOrigin(t, v.ServeHTTP)
			s := newSession(t, nil)
			c := s.Client()
			get(t, c, o.URL)
			body, resp := do(t, c, withCtx(mustRequest(t, http.MethodGet, o.URL, nil), session.Refresh))
			wantCount(t, o, 2)
			info := session.InfoOf(resp)
			if body != "version 1" {
				t.Fatalf("body %q", body)
			}
			if noETag && (info.FromCache || o.lastRequest().Header.Get("If-None-Match") != "") {
				t.Fatalf("refresh without validator must refetch unconditionally: %+v", info)
			}
			if !noETag && !info.Revalidated {
				t.Fatalf("refresh with validator must revalidate: %+v", info)
			}
		})
	}
}

func TestAlwaysRevalidate(t *testing.T) {
	v := &versioned{version: 1, lastMod: true, noETag: true}
	o := newOrigin(t, v.ServeHTTP)
	s := newSession(t, func(c *config.Config) { c.AlwaysRevalidate = true })
	c := s.Client()
	for i := 0; i < 3; i++ {
		get(t, c, o.URL)
	}
	wantCount(t, o, 3)
	if v.notMod.Load() != 2 {
		t.Fatalf("want 2 conditional 304s, got %d", v.notMod.Load())
	}
	if o.lastRequest().Header.Get("If-Modified-Since") == "" {
		t.Fatal("Last-Modified did not become If-Modified-Since")
	}
}

func TestStaleIfError(t *testing.T) {
	for _, tc := range []struct {
		name    string
		limit   config.StaleLimit
		age     time.Duration
		wantOld bool
	}{
		{"unbounded", config.StaleLimit{Enabled: true}, 100 * time.Hour, true},
		{"within bound", config.StaleLimit{Enabled: true, Max: time.Hour}, 30 * time.Minute, true},
		{"beyond bound", config.StaleLimit{Enabled: true, Max: time.Hour}, 2 * time.Hour, false},
		{"off", config.StaleLimit{}, time.Minute, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := &versioned{version: 1, noETag: true}
			o := newOrigin(t, v.ServeHTTP)
			clk := newClock()
			s := newSession(t, func(c *config.Config) {
				c.ExpireAfter = config.After(time.Minute)
				c.StaleIfError = tc.limit
			}, session.WithClock(clk.Now))
			c := s.Client()
			get(t, c, o.URL)
			clk.Advance(time.Minute + tc.age)
			v.set(func(v *versioned) { v.failWith = 503 })
			body, resp := get(t, c, o.URL)
			info := session.InfoOf(resp)
			if tc.wantOld != (body == "version 1" && info.Expired && resp.StatusCode == 200) {
				t.Fatalf("5xx: status %d body %q info %+v", resp.StatusCode, body, info)
			}
			// A transport error (origin gone) behaves the same.
			o.Close()
			r, err := c.Get(o.URL)
			if tc.wantOld {
				if err != nil || !session.InfoOf(r).Expired {
					t.Fatalf("transport error: %v", err)
				}
				r.Body.Close()
			} else if err == nil {
				r.Body.Close()
				t.Fatal("transport error without stale-if-error must fail")
			}
		})
	}
}

func TestStaleWhileRevalidate(t *testing.T) {
	v := &versioned{version: 1, noETag: true}
	slow := make(chan struct{})
	var gate atomic.Bool
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		if gate.Load() {
			<-slow
		}
		v.ServeHTTP(w, r)
	})
	clk := newClock()
	s := newSession(t, func(c *config.Config) {
		c.ExpireAfter = config.After(time.Minute)
		c.StaleWhileRevalidate = config.StaleLimit{Enabled: true}
	}, session.WithClock(clk.Now))
	c := s.Client()
	get(t, c, o.URL)
	clk.Advance(2 * time.Minute)
	v.set(func(v *versioned) { v.version = 2 })
	gate.Store(true) // the refresh blocks until released: the answer must not wait for it
	body, resp := get(t, c, o.URL)
	if body != "version 1" || !session.InfoOf(resp).Expired {
		t.Fatalf("stale answer: %q %+v", body, session.InfoOf(resp))
	}
	get(t, c, o.URL) // a refresh is already running: no second one
	close(slow)
	deadline := time.Now().Add(5 * time.Second)
	for {
		body, resp := get(t, c, o.URL)
		if body == "version 2" && !session.InfoOf(resp).Expired {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the background refresh never landed: %q", body)
		}
		time.Sleep(5 * time.Millisecond)
	}
	wantCount(t, o, 2)
}

func TestStaleWhileRevalidateStopsAtClose(t *testing.T) {
	block := make(chan struct{})
	defer close(block)
	var gate atomic.Bool
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		if gate.Load() {
			select {
			case <-block:
			case <-r.Context().Done():
			}
		}
		io.WriteString(w, "x")
	})
	clk := newClock()
	cfg := config.Default()
	cfg.Memory.MaxSizeMB, cfg.Memory.Shards = 8, 8
	cfg.ExpireAfter = config.After(time.Minute)
	cfg.StaleWhileRevalidate = config.StaleLimit{Enabled: true}
	s, err := session.New(cfg, session.WithClock(clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	c := s.Client()
	get(t, c, o.URL)
	clk.Advance(time.Hour)
	gate.Store(true)
	get(t, c, o.URL) // starts a refresh that hangs
	done := make(chan struct{})
	go func() { s.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close waited for a hanging background refresh")
	}
}

func TestVaryVariantsCoexist(t *testing.T) {
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Vary", "Accept-Language")
		io.WriteString(w, "lang="+r.Header.Get("Accept-Language"))
	})
	s := newSession(t, nil)
	c := s.Client()
	for i := 0; i < 6; i++ {
		lang := []string{"fr", "de"}[i%2]
		req := mustRequest(t, http.MethodGet, o.URL, nil)
		req.Header.Set("Accept-Language", lang)
		if body, _ := do(t, c, req); body != "lang="+lang {
			t.Fatalf("request %d: %q", i, body)
		}
	}
	wantCount(t, o, 2)
}

func TestVaryStarAndCredentialVaryNeverMatch(t *testing.T) {
	for _, vary := range []string{"*", "Authorization", "Cookie, Accept"} {
		t.Run(vary, func(t *testing.T) {
			o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Vary", vary)
				io.WriteString(w, "user="+r.Header.Get("Authorization"))
			})
			s := newSession(t, func(c *config.Config) { c.SeparateCredentials = false })
			c := s.Client()
			for _, user := range []string{"a", "b", "a"} {
				req := mustRequest(t, http.MethodGet, o.URL, nil)
				req.Header.Set("Authorization", user)
				req.Header.Set("Cookie", user)
				if body, _ := do(t, c, req); body != "user="+user {
					t.Fatalf("user %s got %q", user, body)
				}
			}
			wantCount(t, o, 3)
		})
	}
}

func TestUnsafeMethodsInvalidate(t *testing.T) {
	n := 0
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodPut:
			w.Header().Set("Content-Location", "/items/2")
			w.WriteHeader(http.StatusNoContent)
		case http.MethodDelete:
			http.Error(w, "nope", http.StatusForbidden)
		default:
			n++
			w.Header().Set("Vary", "Accept")
			fmt.Fprintf(w, "%s v%d", r.URL.Path, n)
		}
	})
	s := newSession(t, nil)
	c := s.Client()
	accept := func(path, a string) string {
		req := mustRequest(t, http.MethodGet, o.URL+path, nil)
		req.Header.Set("Accept", a)
		body, _ := do(t, c, req)
		return body
	}
	accept("/items/1", "a")
	accept("/items/1", "b")
	accept("/items/2", "a")
	wantCount(t, o, 3)
	do(t, c, mustRequest(t, http.MethodDelete, o.URL+"/items/1", nil)) // an error: invalidates nothing
	accept("/items/1", "a")
	wantCount(t, o, 4)
	do(t, c, mustRequest(t, http.MethodPut, o.URL+"/items/1", strings.NewReader("new")))
	if got := accept("/items/1", "a"); got != "/items/1 v4" {
		t.Fatalf("after PUT variant a: %q", got)
	}
	if got := accept("/items/1", "b"); got != "/items/1 v5" {
		t.Fatalf("after PUT variant b: %q", got)
	}
	if got := accept("/items/2", "a"); got != "/items/2 v6" {
		t.Fatalf("Content-Location not invalidated: %q", got)
	}
	if st := s.Stats(); st.Invalidated < 3 {
		t.Fatalf("stats.Invalidated = %d", st.Invalidated)
	}
}

func TestConcurrentColdRequestsReachOriginOnce(t *testing.T) {
	release := make(chan struct{})
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		<-release
		io.WriteString(w, strings.Repeat("b", 10000))
	})
	s := newSession(t, nil)
	c := s.Client()
	const callers = 12
	var wg sync.WaitGroup
	bodies := make([]string, callers)
	coalesced := atomic.Int64{}
	for i := 0; i < callers; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			resp, err := c.Get(o.URL)
			if err != nil {
				t.Error(err)
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			bodies[i] = string(b)
			if session.InfoOf(resp).Coalesced {
				coalesced.Add(1)
			}
		}(i)
	}
	// Let every caller join the flight before the origin answers.
	deadline := time.Now().Add(5 * time.Second)
	for s.Stats().Coalesced < callers-1 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	close(release)
	wg.Wait()
	wantCount(t, o, 1)
	for i, b := range bodies {
		if len(b) != 10000 {
			t.Fatalf("caller %d got %d bytes", i, len(b))
		}
	}
	if coalesced.Load() != callers-1 {
		t.Fatalf("%d callers coalesced, want %d", coalesced.Load(), callers-1)
	}
}

func TestCancelledLeaderDoesNotFailFollowers(t *testing.T) {
	release := make(chan struct{})
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		<-release
		io.WriteString(w, "shared")
	})
	s := newSession(t, nil)
	c := s.Client()
	leaderCtx, cancelLeader := context.WithCancel(context.Background())
	leaderErr := make(chan error, 1)
	go func() {
		req := mustRequest(t, http.MethodGet, o.URL, nil).WithContext(leaderCtx)
		resp, err := c.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		leaderErr <- err
	}()
	for o.count() == 0 {
		time.Sleep(time.Millisecond)
	}
	follower := make(chan string, 1)
	go func() {
		body, _ := get(t, c, o.URL)
		follower <- body
	}()
	for s.Stats().Coalesced == 0 {
		time.Sleep(time.Millisecond)
	}
	cancelLeader()
	if err := <-leaderErr; !errors.Is(err, context.Canceled) {
		t.Fatalf("leader: %v", err)
	}
	close(release)
	if body := <-follower; body != "shared" {
		t.Fatalf("follower got %q", body)
	}
	wantCount(t, o, 1)
}

// The other way round: the leader cannot leave (its trip runs on its own
// goroutine), a follower that gives up leaves alone, and the leader's
// response is stored.
func TestFollowerLeavingDoesNotStopLeader(t *testing.T) {
	release := make(chan struct{})
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		<-release
		io.WriteString(w, "leader's")
	})
	s := newSession(t, nil)
	c := s.Client()
	leader := make(chan string, 1)
	go func() {
		body, _ := get(t, c, o.URL) // context.Background: never ends
		leader <- body
	}()
	for o.count() == 0 {
		time.Sleep(time.Millisecond)
	}
	followerCtx, cancelFollower := context.WithCancel(context.Background())
	followerErr := make(chan error, 1)
	go func() {
		resp, err := c.Do(mustRequest(t, http.MethodGet, o.URL, nil).WithContext(followerCtx))
		if err == nil {
			resp.Body.Close()
		}
		followerErr <- err
	}()
	for s.Stats().Coalesced == 0 {
		time.Sleep(time.Millisecond)
	}
	cancelFollower()
	if err := <-followerErr; !errors.Is(err, context.Canceled) {
		t.Fatalf("follower: %v", err)
	}
	close(release)
	if body := <-leader; body != "leader's" {
		t.Fatalf("leader got %q", body)
	}
	if body, resp := get(t, c, o.URL); body != "leader's" || !session.InfoOf(resp).FromCache {
		t.Fatalf("after: %q from cache %v", body, session.InfoOf(resp).FromCache)
	}
	wantCount(t, o, 1)
}

func TestBodyFailingMidReadIsNotStored(t *testing.T) {
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000")
		io.WriteString(w, "partial")
		hj, _ := w.(http.Hijacker)
		conn, _, _ := hj.Hijack()
		conn.Close()
	})
	s := newSession(t, nil)
	c := s.Client()
	for i := 0; i < 2; i++ {
		resp, err := c.Get(o.URL)
		if err != nil {
			continue // the transport may report it here
		}
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		if err == nil {
			t.Fatal("a truncated body read without error")
		}
	}
	wantCount(t, o, 2)
	if n, _ := s.Cache().Len(context.Background()); n != 0 {
		t.Fatalf("a truncated body was stored (%d entries)", n)
	}
}

func TestLargeBodyStreamsThroughUncached(t *testing.T) {
	const size = 1 << 20
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("chunked") == "" {
			w.Header().Set("Content-Length", fmt.Sprint(size))
		}
		w.Write([]byte(strings.Repeat("z", size)))
	})
	s := newSession(t, func(c *config.Config) { c.MaxBodyBytes = 64 << 10 })
	c := s.Client()
	for _, q := range []string{"", "?chunked=1"} {
		for i := 0; i < 2; i++ {
			body, resp := get(t, c, o.URL+q)
			if len(body) != size || session.InfoOf(resp).Stored {
				t.Fatalf("%s: %d bytes, info %+v", q, len(body), session.InfoOf(resp))
			}
		}
	}
	wantCount(t, o, 4)
}

func TestCacheControlResponseDirectives(t *testing.T) {
	type step struct {
		advance time.Duration
		fresh   bool // want served from cache without contacting origin
	}
	for _, tc := range []struct {
		name   string
		header http.Header
		steps  []step
	}{
		{"max-age", http.Header{"Cache-Control": {"max-age=60"}}, []step{{30 * time.Second, true}, {31 * time.Second, false}}},
		{"Expires", http.Header{"Expires": {"DATE+60"}}, []step{{30 * time.Second, true}, {31 * time.Second, false}}},
		{"Expires 0", http.Header{"Expires": {"0"}}, []step{{0, false}}},
		{"invalid Expires", http.Header{"Expires": {"soon"}}, []step{{0, false}}},
		{"no-store", http.Header{"Cache-Control": {"no-store, max-age=60"}}, []step{{0, false}}},
		{"no-cache", http.Header{"Cache-Control": {"no-cache, max-age=60"}, "ETag": {`"e"`}}, []step{{0, false}}},
		{"immutable", http.Header{"Cache-Control": {"max-age=1, immutable"}}, []step{{1000 * time.Hour, true}}},
		{"Age counts", http.Header{"Cache-Control": {"max-age=60"}, "Age": {"50"}}, []step{{5 * time.Second, true}, {6 * time.Second, false}}},
		{"Date in the past counts", http.Header{"Cache-Control": {"max-age=60"}, "Date": {"DATE-50"}}, []step{{5 * time.Second, true}, {6 * time.Second, false}}},
		{"private is fine", http.Header{"Cache-Control": {"private, max-age=60"}}, []step{{30 * time.Second, true}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := newClock()
			o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
				for k, vs := range tc.header {
					for _, v := range vs {
						v = strings.ReplaceAll(v, "DATE+60", clk.Now().Add(60*time.Second).Format(http.TimeFormat))
						v = strings.ReplaceAll(v, "DATE-50", clk.Now().Add(-50*time.Second).Format(http.TimeFormat))
						w.Header().Add(k, v)
					}
				}
				if _, ok := w.Header()["Date"]; !ok {
					w.Header().Set("Date", clk.Now().Format(http.TimeFormat))
				}
				io.WriteString(w, "body")
			})
			s := newSession(t, func(c *config.Config) {
				c.CacheControl = true
				c.ExpireAfter = config.NeverExpire
			}, session.WithClock(clk.Now))
			c := s.Client()
			get(t, c, o.URL)
			for i, st := range tc.steps {
				clk.Advance(st.advance)
				before := o.count()
				body, resp := get(t, c, o.URL)
				hit := o.count() == before
				if body != "body" || hit != st.fresh {
					t.Fatalf("step %d: body %q, served without origin = %v, want %v (Cache-Status %q)", i, body, hit, st.fresh, resp.Header.Get("Cache-Status"))
				}
			}
		})
	}
}

func TestCacheControlAgeHeaderOnHits(t *testing.T) {
	clk := newClock()
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=600")
		w.Header().Set("Date", clk.Now().Format(http.TimeFormat))
		io.WriteString(w, "x")
	})
	s := newSession(t, func(c *config.Config) { c.CacheControl = true }, session.WithClock(clk.Now))
	c := s.Client()
	get(t, c, o.URL)
	clk.Advance(42 * time.Second)
	if _, resp := get(t, c, o.URL); resp.Header.Get("Age") != "42" {
		t.Fatalf("Age = %q", resp.Header.Get("Age"))
	}
}

// TestAgeAfterRevalidationCountsFromTheNewDate: a stored entry keeps when
// its response was generated (stores.Entry.GeneratedAt) so that a hit's
// Age reads no header; a 304 that vouches for it with a new Date makes it
// young again, for the answer to the request that revalidated, for the
// hits after it, and under read_only (the merged entry is not written, its
// answer still counts from the 304).
func TestAgeAfterRevalidationCountsFromTheNewDate(t *testing.T) {
	for _, readOnly := range []bool{false, true} {
		t.Run(fmt.Sprintf("read_only=%v", readOnly), func(t *testing.T) {
			clk := newClock()
			var calls atomic.Int64
			o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", "max-age=600")
				w.Header().Set("ETag", `"v1"`)
				if calls.Add(1) == 1 {
					// Generated 100 s before it arrives (a CDN kept it).
					w.Header().Set("Date", clk.Now().Add(-100*time.Second).Format(http.TimeFormat))
					io.WriteString(w, "x")
					return
				}
				w.Header().Set("Date", clk.Now().Format(http.TimeFormat))
				w.WriteHeader(http.StatusNotModified)
			})
			s := newSession(t, func(c *config.Config) { c.CacheControl = true }, session.WithClock(clk.Now))
			c := s.Client()
			get(t, c, o.URL)
			clk.Advance(10 * time.Second)
			if _, resp := get(t, c, o.URL); resp.Header.Get("Age") != "110" {
				t.Fatalf("before the 304: Age %q, want 110", resp.Header.Get("Age"))
			}
			if readOnly {
				st := s.Settings()
				st.ReadOnly = true
				if err := s.SetSettings(st); err != nil {
					t.Fatal(err)
				}
			}
			clk.Advance(500 * time.Second) // 610 s old: stale
			_, resp := get(t, c, o.URL)
			if !session.InfoOf(resp).Revalidated || resp.Header.Get("Age") != "0" {
				t.Fatalf("the revalidated answer: Age %q (Cache-Status %q), want 0: the 304's Date is now", resp.Header.Get("Age"), resp.Header.Get("Cache-Status"))
			}
			clk.Advance(5 * time.Second)
			_, resp = get(t, c, o.URL)
			want := "5"
			if readOnly {
				want = "0" // nothing was written: the old entry, still stale, is revalidated again
			}
			if resp.Header.Get("Age") != want {
				t.Fatalf("after the 304: Age %q (Cache-Status %q), want %s", resp.Header.Get("Age"), resp.Header.Get("Cache-Status"), want)
			}
		})
	}
}

func TestRequestDirectives(t *testing.T) {
	clk := newClock()
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Date", clk.Now().Format(http.TimeFormat))
		io.WriteString(w, "x")
	})
	s := newSession(t, func(c *config.Config) { c.ExpireAfter = config.After(100 * time.Second) }, session.WithClock(clk.Now))
	c := s.Client()
	withCC := func(cc string) *http.Response {
		req := mustRequest(t, http.MethodGet, o.URL, nil)
		req.Header.Set("Cache-Control", cc)
		_, resp := do(t, c, req)
		return resp
	}
	get(t, c, o.URL)
	clk.Advance(50 * time.Second)
	steps := []struct {
		cc        string
		wantCache bool
	}{
		{"max-age=60", true},
		{"max-age=40", false}, // refetches: the entry is now fresh again
		{"min-fresh=200", false},
		{"no-cache", false},
		{"only-if-cached", true},
	}
	for _, st := range steps {
		before := o.count()
		withCC(st.cc)
		if (o.count() == before) != st.wantCache {
			t.Fatalf("%s: from cache = %v, want %v", st.cc, o.count() == before, st.wantCache)
		}
	}
	clk.Advance(150 * time.Second) // stale by 50s
	before := o.count()
	if resp := withCC("max-stale=60"); o.count() != before || !session.InfoOf(resp).Expired {
		t.Fatal("max-stale=60 must serve a 50s-stale entry")
	}
	if resp := withCC("only-if-cached"); resp.StatusCode != http.StatusGatewayTimeout || o.count() != before {
		t.Fatalf("only-if-cached on a stale entry: %d", resp.StatusCode)
	}
	withCC("no-store")
	clk.Advance(time.Hour)
	if resp := withCC("only-if-cached, max-stale"); !session.InfoOf(resp).CreatedAt.Before(clk.Now().Add(-time.Hour)) {
		t.Fatal("no-store request wrote to the cache")
	}
}

func TestStoreDownGoesToNetwork(t *testing.T) {
	o := newOrigin(t, text("x"))
	s := newSession(t, nil)
	c := s.Client()
	s.Store().Close() // the store fails every call from now on
	for i := 0; i < 3; i++ {
		if body, resp := get(t, c, o.URL); body != "x" || resp.StatusCode != 200 {
			t.Fatalf("request %d: %q %d", i, body, resp.StatusCode)
		}
	}
	wantCount(t, o, 3)
	if s.Stats().StoreErrors == 0 {
		t.Fatal("store errors not counted")
	}
}

// RFC 9111 §5.2.2.3: with must-understand, a cache that knows the status
// code's rules stores in spite of no-store; Expires names in the wrong case
// still parse (RFC 9110 §5.6.7).
func TestMustUnderstandAndDateCase(t *testing.T) {
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/mu":
			w.Header().Set("Cache-Control", "must-understand, no-store, max-age=3600")
		case "/expires":
			w.Header().Set("Expires", strings.ToUpper(time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)))
		}
		io.WriteString(w, "x")
	})
	c := newSession(t, func(c *config.Config) { c.CacheControl = true }).Client()
	for _, path := range []string{"/mu", "/expires"} {
		get(t, c, o.URL+path)
		if _, resp := get(t, c, o.URL+path); !session.InfoOf(resp).FromCache {
			t.Fatalf("%s was not answered from the cache", path)
		}
	}
	wantCount(t, o, 2)
}

// RFC 9111 §4.2.2 through the session: a Last-Modified response with no
// explicit lifetime is reused for 10% of its age, then revalidated with
// If-Modified-Since; WithExpireAfter and urls_expire_after win over the
// heuristic, expire_after yields to it, and the setting turns it off.
func TestHeuristicFreshness(t *testing.T) {
	clk := newClock()
	lastModified := clk.Now().Add(-10 * time.Hour).Format(http.TimeFormat) // 10% = 1h
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("If-Modified-Since") == lastModified {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("Last-Modified", lastModified)
		w.Header().Set("Date", clk.Now().Format(http.TimeFormat))
		io.WriteString(w, "doc")
	})
	heuristic := func(edit func(*config.Config)) *http.Client {
		return newSession(t, func(c *config.Config) {
			c.CacheControl = true
			c.ExpireAfter = config.ExpireImmediately
			if edit != nil {
				edit(c)
			}
		}, session.WithClock(clk.Now)).Client()
	}

	t.Run("fresh for 10% of its age, then revalidated", func(t *testing.T) {
		c := heuristic(nil)
		before := o.count()
		_, resp := get(t, c, o.URL+"/h1")
		if info := session.InfoOf(resp); !info.Heuristic || !info.Expires.Equal(clk.Now().Add(time.Hour)) {
			t.Fatalf("miss info %+v, want a heuristic lifetime of 1h", info)
		}
		if cs := resp.Header.Get("Cache-Status"); !strings.Contains(cs, "detail=heuristic") {
			t.Fatalf("miss Cache-Status %q", cs)
		}
		clk.Advance(59 * time.Minute)
		body, resp := get(t, c, o.URL+"/h1")
		info := session.InfoOf(resp)
		if body != "doc" || !info.FromCache || !info.Heuristic || !strings.Contains(resp.Header.Get("Cache-Status"), "; hit; ttl=60; detail=heuristic") {
			t.Fatalf("hit: %q %+v %q", body, info, resp.Header.Get("Cache-Status"))
		}
		clk.Advance(2 * time.Minute)
		body, resp = get(t, c, o.URL+"/h1")
		if body != "doc" || !session.InfoOf(resp).Revalidated {
			t.Fatalf("after the heuristic lifetime: %q %+v, want a 304 revalidation", body, session.InfoOf(resp))
		}
		if o.count()-before != 2 {
			t.Fatalf("origin saw %d requests, want 2 (the miss, the revalidation)", o.count()-before)
		}
	})

	t.Run("the request's own expiration wins", func(t *testing.T) {
		c := heuristic(func(c *config.Config) {
			c.URLsExpireAfter = []config.URLExpiration{{Pattern: "*/by-url", ExpireAfter: config.After(5 * time.Minute)}}
		})
		_, resp := get(t, c, o.URL+"/by-url")
		if info := session.InfoOf(resp); info.Heuristic || !info.Expires.Equal(clk.Now().Add(5*time.Minute)) {
			t.Fatalf("urls_expire_after: %+v", info)
		}
		req := withCtx(mustRequest(t, http.MethodGet, o.URL+"/by-ctx", nil), func(ctx context.Context) context.Context {
			return session.WithExpireAfter(ctx, config.After(2*time.Minute))
		})
		_, resp = do(t, c, req)
		if info := session.InfoOf(resp); info.Heuristic || !info.Expires.Equal(clk.Now().Add(2*time.Minute)) {
			t.Fatalf("WithExpireAfter: %+v", info)
		}
	})

	t.Run("a cap, or off", func(t *testing.T) {
		c := heuristic(func(c *config.Config) { c.HeuristicFreshness = config.StaleLimit{Enabled: true, Max: 10 * time.Minute} })
		if _, resp := get(t, c, o.URL+"/capped"); !session.InfoOf(resp).Expires.Equal(clk.Now().Add(10 * time.Minute)) {
			t.Fatalf("capped: %+v", session.InfoOf(resp))
		}
		c = heuristic(func(c *config.Config) { c.HeuristicFreshness = config.StaleLimit{} })
		before := o.count()
		get(t, c, o.URL+"/off")
		_, resp := get(t, c, o.URL+"/off")
		if info := session.InfoOf(resp); info.Heuristic || !info.Revalidated || o.count()-before != 2 {
			t.Fatalf("off: expire_after = immediately should revalidate every use: %+v, %d requests", info, o.count()-before)
		}
	})
}

// Vary normalisation through the session: equivalent Accept-Language
// values find the stored variant, a different language does not.
func TestVaryNormalisedAcceptLanguage(t *testing.T) {
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Vary", "Accept-Language")
		w.Header().Set("Cache-Control", "max-age=600")
		io.WriteString(w, "for "+r.Header.Get("Accept-Language"))
	})
	c := newSession(t, func(c *config.Config) { c.CacheControl = true }).Client()
	ask := func(lang string) (string, bool) {
		req := mustRequest(t, http.MethodGet, o.URL+"/doc", nil)
		req.Header.Set("Accept-Language", lang)
		body, resp := do(t, c, req)
		return body, session.InfoOf(resp).FromCache
	}
	ask("en, de;q=0.5")
	for _, lang := range []string{"en,de;q=0.5", "EN, De;q=0.500", " de;q=0.5 , en "} {
		if body, hit := ask(lang); !hit || body != "for en, de;q=0.5" {
			t.Fatalf("%q: %q from cache %v, want the stored variant", lang, body, hit)
		}
	}
	if body, hit := ask("de, en;q=0.5"); hit || body != "for de, en;q=0.5" {
		t.Fatalf("other preferences: %q from cache %v", body, hit)
	}
	wantCount(t, o, 2)
}

// A request sent with a Host other than its URL's (a reverse proxy's) is
// keyed with that Host; an unsafe request with the same Host must
// invalidate that entry (cache-tests invalidate-* through tools/cacheproxy).
func TestInvalidationKeepsTheRequestHost(t *testing.T) {
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.Method+" "+r.Host)
	})
	c := newSession(t, nil).Client()
	send := func(method string) string {
		req := mustRequest(t, method, o.URL+"/doc", nil)
		req.Host = "api.example.test"
		body, _ := do(t, c, req)
		return body
	}
	send(http.MethodGet)
	if send(http.MethodGet); o.count() != 1 {
		t.Fatalf("the second GET reached the origin")
	}
	send(http.MethodPost)
	if got := send(http.MethodGet); got != "GET api.example.test" || o.count() != 3 {
		t.Fatalf("after the POST: %q, %d origin requests; want the GET to reach the origin", got, o.count())
	}
}

// RFC 9111 §4: a POST response with explicit freshness whose
// Content-Location is the request's URL answers a later GET of it.
func TestPostResponseWithContentLocationAnswersGet(t *testing.T) {
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/self":
			w.Header().Set("Content-Location", "/self")
		case "/other":
			w.Header().Set("Content-Location", "/elsewhere")
		}
		if r.Method == http.MethodPost {
			w.Header().Set("Cache-Control", "max-age=3600")
		}
		io.WriteString(w, r.Method+" "+r.URL.Path)
	})
	c := newSession(t, func(c *config.Config) { c.CacheControl = true }).Client()
	body, resp := do(t, c, mustRequest(t, http.MethodPost, o.URL+"/self", strings.NewReader("x")))
	if body != "POST /self" || resp.Request.Method != http.MethodPost || !strings.Contains(resp.Header.Get("Cache-Status"), "stored") {
		t.Fatalf("POST: %q, request method %s, Cache-Status %q", body, resp.Request.Method, resp.Header.Get("Cache-Status"))
	}
	if body, resp := get(t, c, o.URL+"/self"); body != "POST /self" || !session.InfoOf(resp).FromCache {
		t.Fatalf("GET after the POST: %q %+v, want the POST's response from the cache", body, session.InfoOf(resp))
	}
	wantCount(t, o, 1)
	// Another Content-Location is not the GET's response.
	do(t, c, mustRequest(t, http.MethodPost, o.URL+"/other", strings.NewReader("x")))
	if body, _ := get(t, c, o.URL+"/other"); body != "GET /other" {
		t.Fatalf("GET /other: %q", body)
	}
	wantCount(t, o, 3)
}

// A response varying on Accept-Language alone, in one Content-Language,
// answers a request whose Accept-Language differs but prefers that
// language above all others; never one whose preference is another
// language, a tie, or when the response varies on more.
func TestVarySelectsByPreferredLanguage(t *testing.T) {
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=600")
		vary := "Accept-Language"
		if r.URL.Path == "/more" {
			vary = "Accept-Language, Accept"
		}
		w.Header().Set("Vary", vary)
		w.Header().Set("Content-Language", "de")
		io.WriteString(w, "Hallo "+r.URL.Path)
	})
	c := newSession(t, func(c *config.Config) { c.CacheControl = true }).Client()
	ask := func(path, lang string) bool {
		req := mustRequest(t, http.MethodGet, o.URL+path, nil)
		req.Header.Set("Accept-Language", lang)
		_, resp := do(t, c, req)
		return session.InfoOf(resp).FromCache
	}
	ask("/doc", "en, de")
	for lang, want := range map[string]bool{
		"fr;q=0.5, de;q=1.0": true,
		"de":                 true,
		"DE, en;q=0.1":       true,
		"fr, de":             false, // a tie at the top
		"fr;q=0.9, de;q=0.8": false, // prefers French
		"*":                  false,
	} {
		if got := ask("/doc", lang); got != want {
			t.Errorf("%q: from cache %v, want %v", lang, got, want)
		}
	}
	ask("/more", "en, de")
	if ask("/more", "de") {
		t.Error("a response varying on more than Accept-Language was selected by language")
	}
}

// stale-if-error never falls back on a response an unsafe request made
// unusable while the trip was under way: the cache itself has invalidated
// it, and a request that began after the invalidation (joining the trip)
// would get what the cache no longer holds (the model test, memory seed
// 11761: a joiner got the old response after a method-override PUT).
func TestStaleIfErrorNeverFallsBackOnAnInvalidatedResponse(t *testing.T) {
	var gets atomic.Int32
	release := make(chan struct{})
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if gets.Add(1) == 1 {
			io.WriteString(w, "old")
			return
		}
		<-release
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	s := newSession(t, func(c *config.Config) { c.StaleIfError = config.StaleLimit{Enabled: true} })
	c := s.Client()
	get(t, c, o.URL+"/a")
	type answer struct {
		body   string
		status int
	}
	first := make(chan answer, 1)
	go func() {
		// max-age=0: validation first; the origin fails once the POST is done.
		req := mustRequest(t, http.MethodGet, o.URL+"/a", nil)
		req.Header.Set("Cache-Control", "max-age=0")
		body, resp := do(t, c, req)
		first <- answer{body, resp.StatusCode}
	}()
	eventually(t, func() bool { return gets.Load() == 2 })
	do(t, c, mustRequest(t, http.MethodPost, o.URL+"/a", strings.NewReader("x")))
	close(release)
	if a := <-first; a.body == "old" || a.status != http.StatusServiceUnavailable {
		t.Fatalf("the request under way when /a was invalidated: %d %q, want the origin's 503, not the invalidated response", a.status, a.body)
	}
}

// WithBackgroundLimit bounds the refreshes running at once: past it, a
// stale answer's refresh is skipped (not queued), and the next stale
// answer tries again once a slot is free.
func TestBackgroundLimitSkipsRefreshesPastIt(t *testing.T) {
	release := make(chan struct{})
	var gate atomic.Bool
	var hitsA, hitsB atomic.Int64
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/a" {
			if hitsA.Add(1) > 1 && gate.Load() {
				<-release
			}
		} else {
			hitsB.Add(1)
		}
		io.WriteString(w, r.URL.Path)
	})
	clk := newClock()
	s := newSession(t, func(c *config.Config) {
		c.ExpireAfter = config.After(time.Minute)
		c.StaleWhileRevalidate = config.StaleLimit{Enabled: true}
	}, session.WithClock(clk.Now), session.WithBackgroundLimit(1))
	c := s.Client()
	get(t, c, o.URL+"/a")
	get(t, c, o.URL+"/b")
	clk.Advance(2 * time.Minute)
	gate.Store(true)
	get(t, c, o.URL+"/a")                                   // its refresh takes the one slot and hangs
	eventually(t, func() bool { return hitsA.Load() == 2 }) // the refresh of /a reached the origin
	if _, resp := get(t, c, o.URL+"/b"); !session.InfoOf(resp).Expired {
		t.Fatal("/b was not answered stale")
	}
	close(release)
	eventually(t, func() bool { // the refresh of /a landed
		_, resp := get(t, c, o.URL+"/a")
		return !session.InfoOf(resp).Expired
	})
	if n := hitsB.Load(); n != 1 {
		t.Fatalf("the origin saw %d requests for /b, want 1: its refresh ran past the limit", n)
	}
	// The slot is free again: the next stale answer of /b refreshes it.
	get(t, c, o.URL+"/b")
	eventually(t, func() bool { return hitsB.Load() == 2 }) // a refresh within the limit ran
}

// tickingClock moves on by step at every reading once ticking: time passes
// between any two readings the session makes.
type tickingClock struct {
	mu      sync.Mutex
	now     time.Time
	step    time.Duration
	ticking bool
}

func (c *tickingClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now
	if c.ticking {
		c.now = c.now.Add(c.step)
	}
	return now
}

// A hit's Age and Cache-Status ttl are those of the instant the reuse
// decision was made: a response decided fresh never says it was served
// past its lifetime, however much time passes before the answer is built.
func TestAnAnswerSpeaksForTheInstantItWasDecidedAt(t *testing.T) {
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=10")
		io.WriteString(w, "x")
	})
	clk := &tickingClock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), step: time.Second}
	s := newSession(t, nil, session.WithClock(clk.Now))
	c := s.Client()
	get(t, c, o.URL)
	clk.mu.Lock()
	clk.now = clk.now.Add(9*time.Second + 500*time.Millisecond) // fresh for half a second more
	clk.ticking = true
	clk.mu.Unlock()
	_, resp := get(t, c, o.URL)
	info := session.InfoOf(resp)
	if !info.FromCache || info.Expired {
		t.Fatalf("not a fresh hit: %+v", info)
	}
	if cs := resp.Header.Get("Cache-Status"); !strings.Contains(cs, "hit; ttl=0") || resp.Header.Get("Age") != "9" {
		t.Fatalf("a fresh hit says Cache-Status %q, Age %q; want ttl=0 and Age 9, as at the decision", cs, resp.Header.Get("Age"))
	}
}
