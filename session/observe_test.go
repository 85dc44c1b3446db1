package session_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/reqcache/reqcache/config"
	"github.com/reqcache/reqcache/session"
	"github.com/reqcache/reqcache/stores"
)

// recorder is an Observer that keeps what it is told.
type recorder struct {
	mu       sync.Mutex
	requests []session.RequestEvent
	store    map[string]int
	errs     int
}

func (r *recorder) ObserveRequest(_ context.Context, e session.RequestEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.requests = append(r.requests, e)
}

func (r *recorder) ObserveStore(_ context.Context, e session.StoreEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.store == nil {
		r.store = map[string]int{}
	}
	r.store[e.Op]++
	if e.Err != nil {
		r.errs++
	}
}

func (r *recorder) outcomes() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, e := range r.requests {
		out = append(out, e.Outcome)
	}
	return out
}

func TestObserverSeesEveryRequestAndStoreOperation(t *testing.T) {
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"v"`)
		if r.Header.Get("If-None-Match") == `"v"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		io.WriteString(w, "0123456789")
	})
	clk := newClock()
	rec := &recorder{}
	s := newSession(t, func(c *config.Config) { c.ExpireAfter = config.After(time.Minute) },
		session.WithObserver(rec), session.WithClock(clk.Now))
	c := s.Client()
	get(t, c, o.URL+"/a")                                                       // miss
	get(t, c, o.URL+"/a")                                                       // hit
	clk.Advance(2 * time.Minute)                                                // expired, with a validator
	get(t, c, o.URL+"/a")                                                       // revalidated
	do(t, c, withCtx(mustRequest(t, "GET", o.URL+"/a", nil), session.Disabled)) // bypass
	do(t, c, withCtx(mustRequest(t, "GET", o.URL+"/never", nil), session.OnlyIfCached))
	want := []string{session.OutcomeMiss, session.OutcomeHit, session.OutcomeRevalidated, session.OutcomeBypass, session.OutcomeGatewayTimeout}
	if got := rec.outcomes(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("outcomes %v, want %v", got, want)
	}
	rec.mu.Lock()
	hit := rec.requests[1]
	sets, reads := rec.store[stores.OpSet], rec.store[stores.OpGet]+rec.store[stores.OpPeek]
	rec.mu.Unlock()
	if hit.Bytes != 10 || !hit.Info.FromCache || !strings.HasPrefix(hit.CacheStatus, "reqcache; hit") || hit.Method != "GET" {
		t.Fatalf("the hit's event: %+v", hit)
	}
	if sets < 1 || reads < 3 {
		t.Fatalf("store operations seen: %v", rec.store)
	}
	// The store's optional operations are observed too: an unsafe
	// request's invalidation by resource, the size the page reads.
	if _, err := c.Post(o.URL+"/a", "text/plain", strings.NewReader("x")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Cache().Bytes(context.Background()); err != nil {
		t.Fatal(err)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.store[stores.OpDeleteURI] != 1 || rec.store[stores.OpBytes] != 1 {
		t.Fatalf("optional store operations seen: %v, want delete_uri and bytes once", rec.store)
	}
	for op := range rec.store {
		if !slices.Contains(stores.Ops(), op) {
			t.Errorf("store operation %q is not one of stores.Ops: a dashboard keyed by that list misses it", op)
		}
	}
}

func TestObserverSeesErrors(t *testing.T) {
	rec := &recorder{}
	s := newSession(t, nil, session.WithObserver(rec), session.WithUpstream(failingUpstream{}))
	if _, err := s.Client().Get("http://127.0.0.1:1/x"); err == nil {
		t.Fatal("want an error")
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.requests) != 1 || rec.requests[0].Outcome != session.OutcomeError || !errors.Is(rec.requests[0].Err, rec.requests[0].Err) || rec.requests[0].Err == nil {
		t.Fatalf("events %+v", rec.requests)
	}
}
