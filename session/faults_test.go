package session_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
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

// corrupting wraps the real memory store and makes chosen keys read back
// as undecodable, as damaged bytes would.
type corrupting struct {
	stores.Store
	mu  sync.Mutex
	bad map[string]bool
}

func (c *corrupting) Get(ctx context.Context, key string) (*stores.Entry, error) {
	c.mu.Lock()
	bad := c.bad[key]
	c.mu.Unlock()
	if bad {
		if _, err := c.Store.Get(ctx, key); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("%w: injected", stores.ErrCorrupt)
	}
	return c.Store.Get(ctx, key)
}

func TestCorruptEntryIsAMissDeletedAndLogged(t *testing.T) {
	mem, err := memory.New(config.Memory{MaxSizeMB: 8, Shards: 8}, nil)
	if err != nil {
		t.Fatal(err)
	}
	st := &corrupting{Store: mem, bad: map[string]bool{}}
	core, logs := observer.New(zapcore.WarnLevel)
	o := newOrigin(t, text("fine"))
	s := newSession(t, nil, session.WithStore(st), session.WithLogger(zap.New(core)))
	c := s.Client()
	_, resp := get(t, c, o.URL)
	key := session.InfoOf(resp).Key
	st.mu.Lock()
	st.bad[key] = true
	st.mu.Unlock()
	body, resp := get(t, c, o.URL)
	if body != "fine" || session.InfoOf(resp).FromCache {
		t.Fatalf("corrupt entry served: %q %+v", body, session.InfoOf(resp))
	}
	wantCount(t, o, 2)
	if s.Stats().Corrupt != 1 || logs.FilterMessageSnippet("corrupt").Len() != 1 {
		t.Fatalf("corrupt entries %d, log lines %d", s.Stats().Corrupt, logs.Len())
	}
	// It was deleted, then stored afresh by the second request.
	st.mu.Lock()
	st.bad[key] = false
	st.mu.Unlock()
	if _, resp := get(t, c, o.URL); !session.InfoOf(resp).FromCache {
		t.Fatal("the refetched response was not stored")
	}
}

func TestResponseStaleDirectives(t *testing.T) {
	clk := newClock()
	fail := false
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		if fail {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Cache-Control", "max-age=10, stale-if-error=60")
		io.WriteString(w, "v1")
	})
	s := newSession(t, func(c *config.Config) { c.CacheControl = true }, session.WithClock(clk.Now))
	c := s.Client()
	get(t, c, o.URL)
	fail = true
	clk.Advance(30 * time.Second)
	if body, resp := get(t, c, o.URL); body != "v1" || !session.InfoOf(resp).Expired {
		t.Fatalf("stale-if-error=60 at 20s stale: %q", body)
	}
	clk.Advance(60 * time.Second)
	if _, resp := get(t, c, o.URL); resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("beyond stale-if-error: status %d", resp.StatusCode)
	}
}

// failFirst fails the first trip (after release) and forwards the others.
type failFirst struct {
	next    http.RoundTripper
	release chan struct{}
	mu      sync.Mutex
	calls   int
}

func (f *failFirst) RoundTrip(r *http.Request) (*http.Response, error) {
	f.mu.Lock()
	f.calls++
	n := f.calls
	f.mu.Unlock()
	if n == 1 {
		<-f.release
		return nil, fmt.Errorf("connection reset by peer (injected)")
	}
	return f.next.RoundTrip(r)
}

func TestSharedErrorsOnlyForWaiters(t *testing.T) {
	o := newOrigin(t, text("ok"))
	up := &failFirst{next: http.DefaultTransport, release: make(chan struct{})}
	s := newSession(t, nil, session.WithUpstream(up))
	c := s.Client()
	errs := make(chan error, 3)
	for i := 0; i < 3; i++ {
		go func() {
			resp, err := c.Get(o.URL)
			if err == nil {
				resp.Body.Close()
			}
			errs <- err
		}()
	}
	for s.Stats().Coalesced < 2 {
		time.Sleep(time.Millisecond)
	}
	close(up.release)
	for i := 0; i < 3; i++ {
		if err := <-errs; err == nil || !strings.Contains(err.Error(), "injected") {
			t.Fatalf("a waiter of the failed trip got %v", err)
		}
	}
	// The next caller did not wait for that trip: it gets its own answer.
	if body, _ := get(t, c, o.URL); body != "ok" {
		t.Fatalf("after the shared error: %q", body)
	}
	wantCount(t, o, 1)
}
