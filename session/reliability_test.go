package session_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/reqcache/reqcache/config"
	"github.com/reqcache/reqcache/session"
	"github.com/reqcache/reqcache/stores"
	"github.com/reqcache/reqcache/stores/memory"
)

// settleGoroutines waits for the goroutine count to fall back to baseline
// and fails with every stack when it does not: anything left is a leak.
func settleGoroutines(t *testing.T, baseline int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		n := runtime.NumGoroutine()
		if n <= baseline {
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			t.Fatalf("%d goroutines still running, baseline %d:\n%s", n, baseline, buf)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// ownTransport is an upstream whose idle connections the test can close,
// so that goroutine accounting is not blurred by other tests' pools.
func ownTransport(t *testing.T) *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	return tr
}

func TestSeparateCredentialsNeverShare(t *testing.T) {
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=3600")
		fmt.Fprintf(w, "auth=%s cookie=%s key=%s", r.Header.Get("Authorization"), r.Header.Get("Cookie"), r.URL.Query().Get("api_key"))
	})
	s := newSession(t, nil) // separate_credentials defaults to true
	c := s.Client()
	send := func(auth, cookie, key string) string {
		u := o.URL + "/me"
		if key != "" {
			u += "?api_key=" + key
		}
		req := mustRequest(t, http.MethodGet, u, nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		body, _ := do(t, c, req)
		if want := fmt.Sprintf("auth=%s cookie=%s key=%s", auth, cookie, key); body != want {
			t.Fatalf("request with auth=%q cookie=%q key=%q got %q", auth, cookie, key, body)
		}
		return body
	}
	users := [][3]string{
		{"Bearer alice", "", ""}, {"Bearer bob", "", ""}, // Authorization
		{"", "sid=alice", ""}, {"", "sid=bob", ""}, // Cookie
		{"", "", "alice"}, {"", "", "bob"}, // an ignored parameter
		{"", "", ""}, // no credentials at all
	}
	for _, u := range users {
		send(u[0], u[1], u[2])
	}
	wantCount(t, o, int64(len(users)))
	// Everyone is answered from their own entry on the second round.
	for _, u := range users {
		send(u[0], u[1], u[2])
	}
	wantCount(t, o, int64(len(users)))
}

func TestSetCookieNeverCrossesCredentials(t *testing.T) {
	handler := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=3600")
		if r.URL.Path == "/login" {
			w.Header().Set("Set-Cookie", "session=for-"+r.Header.Get("Authorization"))
		}
		io.WriteString(w, "user="+r.Header.Get("Authorization"))
	}
	for _, separate := range []bool{true, false} {
		t.Run(fmt.Sprintf("separate_credentials=%v", separate), func(t *testing.T) {
			o := newOrigin(t, handler)
			s := newSession(t, func(c *config.Config) { c.SeparateCredentials = separate })
			c := s.Client()
			for i, user := range []string{"alice", "bob", "alice", "bob"} {
				req := mustRequest(t, http.MethodGet, o.URL+"/login", nil)
				req.Header.Set("Authorization", user)
				body, resp := do(t, c, req)
				if body != "user="+user {
					t.Fatalf("%s got %q", user, body)
				}
				// A cookie reaches the caller whose request received it,
				// and is never replayed from the cache (not even to the
				// same credentials: a replayed cookie would overwrite a
				// newer one in the caller's jar).
				want := "session=for-" + user
				if session.InfoOf(resp).FromCache {
					want = ""
				}
				if got := resp.Header.Get("Set-Cookie"); got != want {
					t.Fatalf("request %d: %s got Set-Cookie %q, want %q", i, user, got, want)
				}
			}
			if separate {
				wantCount(t, o, 2) // each user's own entry served back to them
			} else {
				wantCount(t, o, 4) // shared entries: a Set-Cookie response is never stored
			}
			// Without Set-Cookie, separate_credentials=false shares as before.
			before := o.count()
			for _, user := range []string{"alice", "bob"} {
				req := mustRequest(t, http.MethodGet, o.URL+"/public", nil)
				req.Header.Set("Authorization", user)
				do(t, c, req)
			}
			if want := before + 2; separate {
				wantCount(t, o, want)
			} else {
				wantCount(t, o, before+1)
			}
		})
	}
}

// failingUpstream fails like an upstream wrapping an http.Client does:
// with a *url.Error carrying the full request URL.
type failingUpstream struct{}

func (failingUpstream) RoundTrip(req *http.Request) (*http.Response, error) {
	return nil, &url.Error{Op: "Get", URL: req.URL.String(), Err: errors.New("connection refused")}
}

func TestSecretsNeverLogged(t *testing.T) {
	const secret = "s3cr3t-value"
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("ETag", `"v1"`)
		io.WriteString(w, "ok")
	})
	core, logs := observer.New(zapcore.DebugLevel)
	clk := newClock()
	s := newSession(t, func(c *config.Config) {
		c.CacheControl = true
		c.StaleIfError = config.StaleLimit{Enabled: true}
		c.StaleWhileRevalidate = config.StaleLimit{Enabled: true}
	}, session.WithLogger(zap.New(core)), session.WithClock(clk.Now))
	c := s.Client()
	send := func(c *http.Client, method, path string) {
		u := strings.Replace(o.URL, "http://", "http://user:"+secret+"@", 1) + path + "?api_key=" + secret + "&access_token=" + secret
		var body io.Reader
		if method == http.MethodPost {
			body = strings.NewReader(`{"password":"` + secret + `","q":1}`)
		}
		req := mustRequest(t, method, u, body)
		req.Header.Set("Authorization", "Bearer "+secret)
		req.Header.Set("Cookie", "sid="+secret)
		req.Header.Set("X-API-Key", secret)
		req.Header.Set("Content-Type", "application/json")
		if resp, err := c.Do(req); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}
	send(c, http.MethodGet, "/a") // stored (debug event)
	send(c, http.MethodGet, "/a") // hit
	send(c, http.MethodPost, "/c")
	send(c, http.MethodGet, "/b")
	clk.Advance(2 * time.Minute)
	send(c, http.MethodGet, "/b") // stale-while-revalidate: background refresh
	// The same entries through an upstream that fails with the URL in its
	// error: stale-if-error and failure events.
	failing := newSession(t, func(c *config.Config) {
		c.CacheControl = true
		c.StaleIfError = config.StaleLimit{Enabled: true}
	}, session.WithLogger(zap.New(core)), session.WithClock(clk.Now), session.WithStore(s.Store()), session.WithUpstream(failingUpstream{}))
	clk.Advance(2 * time.Hour)
	send(failing.Client(), http.MethodGet, "/a")
	send(failing.Client(), http.MethodGet, "/never-stored")
	s.Close() // waits for the background refresh, so its events are in

	if logs.Len() == 0 {
		t.Fatal("nothing was logged: the test proves nothing")
	}
	for _, e := range logs.All() {
		line := e.Message + " " + fmt.Sprint(e.ContextMap())
		if strings.Contains(line, secret) {
			t.Errorf("secret in a log line: %s", line)
		}
	}
	var sawFailure bool
	for _, e := range logs.All() {
		if msg, ok := e.ContextMap()["error"].(string); ok && strings.Contains(msg, "connection refused") {
			sawFailure = true
			if !strings.Contains(msg, session.Redacted) {
				t.Errorf("upstream error logged without its redacted URL: %s", msg)
			}
		}
	}
	if !sawFailure {
		t.Errorf("the upstream failure was not logged; events: %d", logs.Len())
	}
}

func TestUpstreamHangCallerDeadlineWins(t *testing.T) {
	release := make(chan struct{})
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/mid-body" {
			w.Header().Set("Content-Length", "1000")
			io.WriteString(w, "partial")
			w.(http.Flusher).Flush()
		}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	tr := ownTransport(t)
	s := newSession(t, nil, session.WithUpstream(tr))
	c := s.Client()
	baseline := runtime.NumGoroutine()

	for _, path := range []string{"/headers", "/mid-body"} {
		var wg sync.WaitGroup
		errs := make(chan error, 4)
		for range 4 { // one leader, three coalesced waiters
			wg.Add(1)
			go func() {
				defer wg.Done()
				ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
				defer cancel()
				start := time.Now()
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, o.URL+path, nil)
				resp, err := c.Do(req)
				if err == nil {
					_, err = io.ReadAll(resp.Body)
					resp.Body.Close()
				}
				if took := time.Since(start); took > 3*time.Second {
					err = fmt.Errorf("returned after %v: the deadline did not win", took)
				} else if err == nil {
					err = errors.New("no error from a hanging origin")
				} else if !errors.Is(err, context.DeadlineExceeded) {
					err = fmt.Errorf("want a deadline error, got %w", err)
				} else {
					err = nil
				}
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Errorf("%s: %v", path, err)
			}
		}
	}
	if n, _ := s.Cache().Len(context.Background()); n != 0 {
		t.Fatalf("%d entries stored from hanging responses", n)
	}
	// The mid-body stream's callers all left: the session may go on
	// reading it in the background (to store it) until Close.
	s.Close()
	tr.CloseIdleConnections()
	settleGoroutines(t, baseline)
}

func TestNoGoroutinesLeftAfterClose(t *testing.T) {
	hang := make(chan struct{})
	defer close(hang)
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("If-None-Match") != "" { // the background refresh hangs
			select {
			case <-hang:
			case <-r.Context().Done():
			}
			return
		}
		w.Header().Set("Cache-Control", "max-age=1, stale-while-revalidate=3600")
		w.Header().Set("ETag", `"x"`)
		io.WriteString(w, r.URL.Path)
	})
	tr := ownTransport(t)
	baseline := runtime.NumGoroutine()
	clk := newClock()
	s, err := session.New(config.Default(), session.WithUpstream(tr), session.WithClock(clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	c := s.Client()
	for i := range 50 {
		get(t, c, fmt.Sprintf("%s/p%d", o.URL, i))
	}
	clk.Advance(time.Minute)
	for i := range 50 { // stale answers, each starting a hanging refresh
		if body, _ := get(t, c, fmt.Sprintf("%s/p%d", o.URL, i)); body != fmt.Sprintf("/p%d", i) {
			t.Fatalf("stale answer %q", body)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	tr.CloseIdleConnections()
	settleGoroutines(t, baseline)
}

func TestRequestEventAndStatsVar(t *testing.T) {
	o := newOrigin(t, text("hello"))
	core, logs := observer.New(zapcore.DebugLevel)
	s := newSession(t, nil, session.WithLogger(zap.New(core)))
	c := s.Client()
	get(t, c, o.URL+"/e?api_key=k")
	get(t, c, o.URL+"/e?api_key=k")
	events := logs.FilterMessage("reqcache: request").All()
	if len(events) != 2 {
		t.Fatalf("%d request events, want 2", len(events))
	}
	for i, e := range events {
		m := e.ContextMap()
		if m["method"] != "GET" || !strings.HasSuffix(m["url"].(string), "/e?api_key=REDACTED") || m["status"] != int64(200) ||
			m["from_cache"] != (i == 1) || len(m["key"].(string)) != 32 || !strings.HasPrefix(m["cache_status"].(string), "reqcache;") {
			t.Fatalf("event %d fields: %v", i, m)
		}
	}
	var st map[string]int64
	if err := json.Unmarshal([]byte(s.StatsVar().String()), &st); err != nil {
		t.Fatal(err)
	}
	if st["hits"] != 1 || st["misses"] != 1 || st["bytes_served"] != 5 {
		t.Fatalf("StatsVar = %v", st)
	}
}

// sharedStore lets two sessions use one store, as two processes share a
// MongoDB cache: closing a session leaves the store open.
type sharedStore struct{ stores.Store }

func (sharedStore) Close() error { return nil }

// After Cache.Clear, a process that starts later must still derive the same
// keys for requests with credentials as the ones already running; a new
// credential key would make every such entry a miss for it.
func TestClearKeepsCredentialKey(t *testing.T) {
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=600")
		io.WriteString(w, "for "+r.Header.Get("Authorization"))
	})
	cfg := config.Default()
	st, err := memory.New(cfg.Memory, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	first := newSession(t, nil, session.WithStore(sharedStore{st}))
	authGet := func(s *session.Session) string {
		req := mustRequest(t, http.MethodGet, o.URL+"/me", nil)
		req.Header.Set("Authorization", "Bearer alice")
		body, _ := do(t, s.Client(), req)
		return body
	}
	authGet(first)
	ctx := context.Background()
	if err := first.Cache().Clear(ctx); err != nil {
		t.Fatal(err)
	}
	if n, _ := first.Cache().Len(ctx); n != 0 {
		t.Fatalf("after Clear: %d entries", n)
	}
	if _, err := st.GetAlias(ctx, session.CredentialKeyAlias); err != nil {
		t.Fatalf("Clear removed the credential key: %v", err)
	}
	authGet(first) // stored again by the running process
	wantCount(t, o, 2)

	later := newSession(t, nil, session.WithStore(sharedStore{st}))
	if body := authGet(later); body != "for Bearer alice" {
		t.Fatalf("body = %q", body)
	}
	wantCount(t, o, 2)
}

// deletesFail is a memory store whose deletes fail while down is set, as a
// MongoDB in an outage fails them.
type deletesFail struct {
	*memory.Store
	down atomic.Bool
}

var errDeleteDown = errors.New("store down")

func (d *deletesFail) Delete(ctx context.Context, keys ...string) (int, error) {
	if d.down.Load() {
		return 0, errDeleteDown
	}
	return d.Store.Delete(ctx, keys...)
}

func (d *deletesFail) DeleteURI(ctx context.Context, uri string) (int, error) {
	if d.down.Load() {
		return 0, errDeleteDown
	}
	return d.Store.DeleteURI(ctx, uri)
}

// An invalidation the store cannot carry out leaves no old answer usable
// (issue 40, finding 1): the resource's entries are refused until a delete
// of them goes through, then it is cached again.
func TestOwedInvalidationRefusesTheOldAnswer(t *testing.T) {
	version := atomic.Int64{}
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			version.Add(1)
			return
		}
		w.Header().Set("Cache-Control", "max-age=600")
		fmt.Fprintf(w, "version %d", version.Load())
	})
	st, err := memory.New(config.Default().Memory, nil)
	if err != nil {
		t.Fatal(err)
	}
	store := &deletesFail{Store: st}
	s := newSession(t, nil, session.WithStore(store))
	get(t, s.Client(), o.URL+"/r")
	store.down.Store(true)
	do(t, s.Client(), mustRequest(t, http.MethodPost, o.URL+"/r", strings.NewReader("x")))
	if body, _ := get(t, s.Client(), o.URL+"/r"); body != "version 1" {
		t.Fatalf("after a POST whose invalidation the store failed: %q, want the new version", body)
	}
	if body, _ := get(t, s.Client(), o.URL+"/r"); body != "version 1" {
		t.Fatalf("again, the store still failing: %q", body)
	}
	store.down.Store(false)
	before := o.count()
	get(t, s.Client(), o.URL+"/r") // the owed delete goes through; fetched and stored
	if body, resp := get(t, s.Client(), o.URL+"/r"); body != "version 1" || !session.InfoOf(resp).FromCache || o.count() != before+1 {
		t.Fatalf("after the store came back: %q, from cache %v, %d origin requests (want 1)", body, session.InfoOf(resp).FromCache, o.count()-before)
	}
}
