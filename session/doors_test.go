package session_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/reqcache/reqcache/config"
	"github.com/reqcache/reqcache/session"
)

// These tests are the findings of issue 27 that the oracle
// (internal/oracle) cannot reach — the others are its regressions — and
// the contract of the one door out: every answer from a stored response
// says so the same way.

// closeRecorder is a request body that tells whether it was closed.
type closeRecorder struct {
	io.Reader
	closed atomic.Bool
}

func (c *closeRecorder) Close() error { c.closed.Store(true); return nil }

// Finding 12: every 504 of only-if-cached closes the caller's body (the
// RoundTripper contract), whichever path answers it.
func TestGatewayTimeoutClosesTheRequestBody(t *testing.T) {
	o := newOrigin(t, text("x"))
	s := newSession(t, func(c *config.Config) {
		c.OnlyIfCached = true
		c.AllowableMethods = []string{"GET", "HEAD", "POST"}
	})
	for _, tc := range []struct {
		name   string
		method string
		edit   func(*http.Request)
	}{
		{"a method not cached", http.MethodPut, nil},
		{"a cached method, nothing stored", http.MethodPost, nil},
		{"an upgrade", http.MethodGet, func(r *http.Request) { r.Header.Set("Connection", "Upgrade"); r.Header.Set("Upgrade", "websocket") }},
		{"a method override", http.MethodPost, func(r *http.Request) { r.Header.Set("X-HTTP-Method-Override", "PUT") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := &closeRecorder{Reader: strings.NewReader("payload")}
			req := mustRequest(t, tc.method, o.URL+"/x", nil)
			req.Body, req.ContentLength = body, 7
			if tc.edit != nil {
				tc.edit(req)
			}
			resp, err := s.RoundTrip(req)
			if err != nil || resp.StatusCode != http.StatusGatewayTimeout {
				t.Fatalf("got %v, %v; want the 504", resp, err)
			}
			if !body.closed.Load() {
				t.Fatal("the request body was not closed")
			}
		})
	}
	wantCount(t, o, 0)
}

// Finding 10: deleting by request removes the URL's stored part too.
func TestDeleteByRequestRemovesThePart(t *testing.T) {
	full := strings.Repeat("0123456789", 10)
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"v1"`)
		w.Header().Set("Cache-Control", "max-age=600")
		http.ServeContent(w, r, "", time.Time{}, strings.NewReader(full))
	})
	s := newSession(t, func(c *config.Config) { c.CacheControl = true })
	c := s.Client()
	req := mustRequest(t, "GET", o.URL+"/file", nil)
	req.Header.Set("Range", "bytes=0-9")
	if body, resp := do(t, c, req); resp.StatusCode != http.StatusPartialContent || body != full[:10] {
		t.Fatalf("range: %d %q", resp.StatusCode, body)
	}
	if n, _ := s.Cache().Len(context.Background()); n != 1 {
		t.Fatalf("%d entries, want the part", n)
	}
	n, err := s.Cache().Delete(context.Background(), session.Selector{Requests: []*http.Request{mustRequest(t, "GET", o.URL+"/file", nil)}})
	if err != nil || n != 1 {
		t.Fatalf("Delete by request = %d, %v; want the part deleted", n, err)
	}
	req = mustRequest(t, "GET", o.URL+"/file", nil)
	req.Header.Set("Range", "bytes=0-9")
	before := o.count()
	do(t, c, req)
	wantCount(t, o, before+1)
}

// Finding 13: the heuristic label of a hit is the decision recorded when
// the response was stored, not a guess from its header; a stale answer
// says why it was allowed.
func TestHitsSayWhatTheStoreDecided(t *testing.T) {
	clk := newClock()
	future := clk.Now().Add(time.Hour).Format(http.TimeFormat)
	past := clk.Now().Add(-100 * time.Hour).Format(http.TimeFormat)
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Date", clk.Now().Format(http.TimeFormat))
		switch r.URL.Path {
		case "/future":
			w.Header().Set("Last-Modified", future) // no heuristic: urls_expire_after
		case "/past":
			w.Header().Set("Last-Modified", past) // 10 h heuristic
		}
		io.WriteString(w, "x")
	})
	s := newSession(t, func(c *config.Config) {
		c.CacheControl = true
		// A lifetime written for /future alone: one written for both
		// would beat the heuristic of /past.
		c.URLsExpireAfter = []config.URLExpiration{{Pattern: "*/future", ExpireAfter: config.After(time.Minute)}}
	}, session.WithClock(clk.Now))
	c := s.Client()
	for _, tc := range []struct {
		path      string
		heuristic bool
	}{{"/future", false}, {"/past", true}} {
		get(t, c, o.URL+tc.path)
		_, resp := get(t, c, o.URL+tc.path)
		info := session.InfoOf(resp)
		cs := resp.Header.Get("Cache-Status")
		if !info.FromCache || info.Heuristic != tc.heuristic || strings.Contains(cs, "detail=heuristic") != tc.heuristic {
			t.Fatalf("%s: %+v %q, want heuristic %v", tc.path, info, cs, tc.heuristic)
		}
	}
	// Stale under only_if_cached, allowed by stale_if_error: its own
	// reason, not max-stale (which was not sent).
	st := s.Settings()
	st.StaleIfError = config.StaleLimit{Enabled: true}
	s.SetSettings(st)
	clk.Advance(2 * time.Minute)
	_, resp := do(t, c, withCtx(mustRequest(t, "GET", o.URL+"/future", nil), session.OnlyIfCached))
	if cs := resp.Header.Get("Cache-Status"); !strings.Contains(cs, "detail=only-if-cached") {
		t.Fatalf("a stale answer under only_if_cached: %q", cs)
	}
}

// Finding 17: a 304 never brings into the entry what a first store
// strips: the fields its Connection header names.
func TestNotModifiedMergesNoHopByHopFields(t *testing.T) {
	clk := newClock()
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"v1"`)
		w.Header().Set("Cache-Control", "max-age=10")
		if r.Header.Get("If-None-Match") == `"v1"` {
			w.Header().Set("Connection", "X-Hop-Secret")
			w.Header().Set("X-Hop-Secret", "for this connection only")
			w.WriteHeader(http.StatusNotModified)
			return
		}
		io.WriteString(w, "body")
	})
	s := newSession(t, func(c *config.Config) { c.CacheControl = true }, session.WithClock(clk.Now))
	c := s.Client()
	get(t, c, o.URL)
	clk.Advance(time.Minute)
	if _, resp := get(t, c, o.URL); !session.InfoOf(resp).Revalidated {
		t.Fatalf("not revalidated: %+v", session.InfoOf(resp))
	}
	for r, err := range s.Cache().Responses(context.Background(), session.Filter{}) {
		if err != nil {
			t.Fatal(err)
		}
		if v := r.Header.Get("X-Hop-Secret"); v != "" {
			t.Fatalf("the 304 merged a hop-by-hop field into the entry: %q", v)
		}
	}
}

// Finding 18: a caller that reuses and changes one *http.Request between
// calls (as gregjones/httpcache's own tests do) cannot make later
// requests join a trip for another variant: a trip keeps its own copy of
// the fields that select its response.
func TestJoinersAreSelectedByTheTripsOwnCopy(t *testing.T) {
	release := make(chan struct{})
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Vary", "Accept-Language")
		w.Header().Set("Content-Length", "7")
		w.WriteHeader(200)
		io.WriteString(w, r.Header.Get("Accept-Language")[:2]+"-")
		w.(http.Flusher).Flush()
		<-release
		io.WriteString(w, "body")
	})
	s := newSession(t, nil)
	leader := mustRequest(t, "GET", o.URL, nil)
	leader.Header.Set("Accept-Language", "de")
	resp, err := s.RoundTrip(leader)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	// The leader's caller changes its request while the body streams.
	leader.Header.Set("Accept-Language", "fr")
	var wg sync.WaitGroup
	var got string
	wg.Add(1)
	go func() {
		defer wg.Done()
		req := mustRequest(t, "GET", o.URL, nil)
		req.Header.Set("Accept-Language", "fr")
		resp, err := s.RoundTrip(req)
		if err != nil {
			t.Error(err)
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got = string(b)
	}()
	time.Sleep(20 * time.Millisecond)
	close(release)
	io.ReadAll(resp.Body)
	wg.Wait()
	if !strings.HasPrefix(got, "fr-") {
		t.Fatalf("a request for fr got %q: it joined the trip for de", got)
	}
}

// An origin that compresses by Accept-Encoding without saying Vary (common
// enough): a caller that asks for gzip itself (many SDKs do) gets gzip
// bytes, and an http.Get — whose Transport asks for gzip and decompresses
// what arrives — must never be answered with them, neither from the store
// nor by joining the other caller's trip.
func TestAContentCodingTheCallerDidNotAskForIsNeverServed(t *testing.T) {
	release := make(chan struct{})
	var held atomic.Bool // the first gzip answer waits for release after its first bytes
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=600")
		if !strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			io.WriteString(w, "plain body")
			return
		}
		var z bytes.Buffer
		gz := gzip.NewWriter(&z)
		io.WriteString(gz, "plain body")
		gz.Close()
		w.Header().Set("Content-Encoding", "gzip")
		w.Header().Set("Content-Length", strconv.Itoa(z.Len())) // known to fit: a late caller may join
		w.Write(z.Next(10))
		w.(http.Flusher).Flush()
		if held.CompareAndSwap(false, true) {
			<-release
		}
		w.Write(z.Bytes())
	})
	s := newSession(t, nil)
	askGzip := func() *http.Response {
		t.Helper()
		req := mustRequest(t, "GET", o.URL, nil)
		req.Header.Set("Accept-Encoding", "gzip")
		resp, err := s.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.Header.Get("Content-Encoding") != "gzip" {
			t.Fatalf("the caller that asked for gzip got Content-Encoding %q", resp.Header.Get("Content-Encoding"))
		}
		return resp
	}
	plainGet := func() (string, string) {
		resp, err := s.Client().Get(o.URL)
		if err != nil {
			return err.Error(), ""
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b), resp.Header.Get("Content-Encoding")
	}
	plain := func(what string, body, coding string) {
		t.Helper()
		if body != "plain body" || coding != "" {
			t.Fatalf("%s: http.Get read %q with Content-Encoding %q", what, body, coding)
		}
	}

	// Joining: the gzip caller's trip still streams when http.Get asks.
	// (Had it joined, it would wait for the held rest: it is let go after
	// a second, and reads gzip bytes.)
	leader := askGzip()
	type answer struct{ body, coding string }
	beside := make(chan answer, 1)
	go func() { b, c := plainGet(); beside <- answer{b, c} }()
	var a answer
	select {
	case a = <-beside:
		close(release)
	case <-time.After(time.Second):
		close(release)
		a = <-beside
	}
	plain("beside the gzip caller's trip", a.body, a.coding)
	io.ReadAll(leader.Body)
	leader.Body.Close()
	wantCount(t, o, 2)

	// From the store: the gzip caller's response is stored again, then
	// http.Get asks. (The plain one stored just now is served to a caller
	// that asked for gzip: identity is always acceptable.)
	resp := withCtx(mustRequest(t, "GET", o.URL, nil), session.ForceRefresh)
	resp.Header.Set("Accept-Encoding", "gzip")
	r, err := s.Client().Do(resp)
	if err != nil {
		t.Fatal(err)
	}
	io.ReadAll(r.Body)
	r.Body.Close()
	if !session.InfoOf(r).Stored {
		t.Fatal("the gzip response was not stored")
	}
	miss, err := s.Client().Get(o.URL)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(miss.Body)
	miss.Body.Close()
	plain("after the gzip response was stored", string(b), miss.Header.Get("Content-Encoding"))
	if !miss.Uncompressed {
		t.Error("the miss does not say the Transport decoded its body (Response.Uncompressed)")
	}
	wantCount(t, o, 4)
	b2, c := plainGet()
	plain("again", b2, c) // the plain response, stored over it, is a hit
	wantCount(t, o, 4)
}

// Finding 11, and the one door out: every answer made from a stored
// response — a hit, a stale-if-error answer, a revalidated one, a
// late-joined trip — carries Age (with cache_control) and X-From-Cache
// (gregjones/httpcache's convention; none on a miss).
func TestEveryAnswerFromTheCacheSaysSo(t *testing.T) {
	clk := newClock()
	var failing atomic.Bool
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		if failing.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("ETag", `"v1"`)
		w.Header().Set("Cache-Control", "max-age=10")
		if r.Header.Get("If-None-Match") == `"v1"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		io.WriteString(w, "body")
	})
	s := newSession(t, func(c *config.Config) {
		c.CacheControl = true
		c.StaleIfError = config.StaleLimit{Enabled: true}
	}, session.WithClock(clk.Now))
	c := s.Client()
	check := func(name string, resp *http.Response, fromCache bool) {
		t.Helper()
		_, age := resp.Header["Age"]
		if got := resp.Header.Get("X-From-Cache") == "1"; got != fromCache || age != fromCache {
			t.Fatalf("%s: X-From-Cache %q, Age %q; want from cache %v (%q)", name, resp.Header.Get("X-From-Cache"), resp.Header.Get("Age"), fromCache, resp.Header.Get("Cache-Status"))
		}
	}
	_, resp := get(t, c, o.URL)
	check("a miss", resp, false)
	_, resp = get(t, c, o.URL)
	check("a hit", resp, true)
	clk.Advance(time.Minute)
	_, resp = get(t, c, o.URL)
	check("a revalidated answer", resp, true)
	clk.Advance(time.Minute)
	failing.Store(true)
	body, resp := get(t, c, o.URL)
	if body != "body" || !session.InfoOf(resp).Expired {
		t.Fatalf("no stale answer when the origin failed: %q %+v", body, session.InfoOf(resp))
	}
	check("a stale-if-error answer", resp, true)
}

// The method override (finding 3): a request that tunnels another method
// is neither answered from nor written to the cache, and invalidates when
// either method is unsafe — through each header requests-cache takes for
// one (issue 42, item 7).
func TestMethodOverrideNeverTouchesTheCache(t *testing.T) {
	for _, header := range []string{"X-HTTP-Method-Override", "X-HTTP-Method", "X-Method-Override"} {
		t.Run(header, func(t *testing.T) {
			var version atomic.Int64
			o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodPost {
					version.Add(1)
				}
				fmt.Fprintf(w, "v%d %s", version.Load(), r.Method)
			})
			s := newSession(t, nil)
			c := s.Client()
			if body, _ := get(t, c, o.URL+"/doc"); body != "v0 GET" {
				t.Fatalf("first GET: %q", body)
			}
			head := mustRequest(t, http.MethodHead, o.URL+"/doc", nil)
			head.Header.Set(header, "GET")
			if _, resp := do(t, c, head); session.InfoOf(resp).FromCache {
				t.Fatal("a HEAD tunnelling GET was answered from the cache")
			}
			tunnelled := mustRequest(t, http.MethodGet, o.URL+"/doc", nil)
			tunnelled.Header.Set(header, "DELETE")
			if _, resp := do(t, c, tunnelled); session.InfoOf(resp).FromCache || !strings.Contains(resp.Header.Get("Cache-Status"), "detail=method-override") {
				t.Fatalf("a GET tunnelling DELETE: %s", resp.Header.Get("Cache-Status"))
			}
			post := mustRequest(t, http.MethodPost, o.URL+"/doc", strings.NewReader("x"))
			post.Header.Set(header, "GET") // an origin that ignores it changes the document
			if body, resp := do(t, c, post); body != "v1 POST" || session.InfoOf(resp).FromCache {
				t.Fatalf("a POST tunnelling GET: %q %+v", body, session.InfoOf(resp))
			}
			if body, _ := get(t, c, o.URL+"/doc"); body != "v1 GET" {
				t.Fatalf("the GET after a POST that changed the document: %q", body)
			}
		})
	}
}

// Finding 8: a max_body_bytes no code can handle is refused by name.
func TestMaxBodyBytesBounded(t *testing.T) {
	cfg := config.Default()
	cfg.MaxBodyBytes = 1<<63 - 1
	if _, err := session.New(cfg); err == nil || !strings.Contains(err.Error(), "max_body_bytes") {
		t.Fatalf("session.New with max_body_bytes = 2^63-1: %v", err)
	}
}

// A response on its way while an unsafe request changes its resource is
// not stored: the origin may have answered before the change, and written
// after the invalidation it would bring the old representation back for
// good (found by the oracle under CI load, seed 28: a 304 merged after a
// DELETE's invalidation).
func TestWriteRacingAnInvalidationIsDropped(t *testing.T) {
	var mu sync.Mutex
	version := 1
	arrived, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodDelete {
			mu.Lock()
			version++
			mu.Unlock()
			w.WriteHeader(http.StatusNoContent)
			return
		}
		mu.Lock()
		v := version
		mu.Unlock()
		first := false
		once.Do(func() { first = true })
		if first {
			close(arrived)
			<-release // answered before the DELETE, received after it
		}
		w.Header().Set("Cache-Control", "max-age=600")
		fmt.Fprintf(w, "v%d", v)
	})
	s := newSession(t, nil)
	c := s.Client()
	done := make(chan string)
	go func() {
		resp, err := c.Get(o.URL + "/doc")
		if err != nil {
			done <- err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		done <- string(b)
	}()
	<-arrived
	if _, resp := do(t, c, mustRequest(t, http.MethodDelete, o.URL+"/doc", nil)); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE: %d", resp.StatusCode)
	}
	close(release)
	if got := <-done; got != "v1" {
		t.Fatalf("the GET in flight: %q", got)
	}
	if body, resp := get(t, c, o.URL+"/doc"); body != "v2" || session.InfoOf(resp).FromCache {
		t.Fatalf("after the DELETE: %q from cache %v: the response on its way during the invalidation was stored", body, session.InfoOf(resp).FromCache)
	}
}
