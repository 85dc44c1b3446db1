package session_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/reqcache/reqcache/config"
	"github.com/reqcache/reqcache/session"
)

// origin is an httptest.Server that counts the requests reaching it.
type origin struct {
	*httptest.Server
	hits    atomic.Int64
	mu      sync.Mutex
	last    *http.Request
	handler http.HandlerFunc
}

func newOrigin(t *testing.T, h http.HandlerFunc) *origin {
	t.Helper()
	o := &origin{handler: h}
	o.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.hits.Add(1)
		o.mu.Lock()
		o.last = r.Clone(context.Background())
		h := o.handler
		o.mu.Unlock()
		h(w, r)
	}))
	t.Cleanup(o.Close)
	return o
}

func (o *origin) count() int64 { return o.hits.Load() }

// serve makes h answer the origin's next requests.
func (o *origin) serve(h http.HandlerFunc) {
	o.mu.Lock()
	o.handler = h
	o.mu.Unlock()
}

func (o *origin) lastRequest() *http.Request {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.last
}

// text answers every request with body and status 200.
func text(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, body)
	}
}

// clock is a controllable clock for sessions.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// newSession builds a session on the memory store with cfg changed by edit.
func newSession(t *testing.T, edit func(*config.Config), opts ...session.Option) *session.Session {
	t.Helper()
	cfg := config.Default()
	cfg.Memory.MaxSizeMB = 8
	cfg.Memory.Shards = 8
	if edit != nil {
		edit(cfg)
	}
	s, err := session.New(cfg, opts...)
	if err != nil {
		t.Fatalf("session.New: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// get makes a GET through c and returns the body and the response.
func get(t *testing.T, c *http.Client, url string) (string, *http.Response) {
	t.Helper()
	return do(t, c, mustRequest(t, http.MethodGet, url, nil))
}

func do(t *testing.T, c *http.Client, req *http.Request) (string, *http.Response) {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("reading body of %s: %v", req.URL, err)
	}
	return string(b), resp
}

func mustRequest(t *testing.T, method, url string, body io.Reader) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func withCtx(req *http.Request, f func(context.Context) context.Context) *http.Request {
	return req.WithContext(f(req.Context()))
}

func wantCount(t *testing.T, o *origin, want int64) {
	t.Helper()
	if got := o.count(); got != want {
		t.Fatalf("origin saw %d requests, want %d", got, want)
	}
}

// loadTest skips a load test (seconds of work, for the whole suite, not a
// developer's default run) unless REQCACHE_LOAD_TESTS=1, which
// scripts/test.sh sets.
func loadTest(t *testing.T, what string) {
	t.Helper()
	if os.Getenv("REQCACHE_LOAD_TESTS") != "1" {
		t.Skipf("a load test (%s): set REQCACHE_LOAD_TESTS=1, as scripts/test.sh does", what)
	}
}
