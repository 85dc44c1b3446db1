package session_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/reqcache/reqcache/config"
	"github.com/reqcache/reqcache/session"
)

// TestSoak sends 1,000,000 mixed requests (REQCACHE_SOAK_OPS overrides)
// from 4 goroutines: hits, misses on ever-new URLs that churn the 8 MiB
// memory store, 304 revalidations as a controlled clock expires entries,
// forced revalidations, and invalidating POSTs. Every request must succeed
// with the body of its own URL, and the heap must be as flat at the end as
// it was after the first fifth.
func TestSoak(t *testing.T) {
	loadTest(t, "1,000,000 requests")
	ops := 1_000_000
	if v := os.Getenv("REQCACHE_SOAK_OPS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1000 {
			t.Fatalf("REQCACHE_SOAK_OPS=%q: want an integer ≥ 1000", v)
		}
		ops = n
	}
	const hot = 1999 // coprime with the mix of 20, so every path sees every kind of request
	var versions [hot]atomic.Int64
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		path := r.URL.Path
		n := -1
		if rest, ok := strings.CutPrefix(path, "/hot/"); ok {
			n, _ = strconv.Atoi(rest)
		}
		if r.Method == http.MethodPost {
			if n >= 0 {
				versions[n].Add(1)
			}
			w.WriteHeader(http.StatusNoContent)
			return
		}
		etag := `"` + path + `"`
		if n >= 0 {
			etag = fmt.Sprintf(`"%s-%d"`, path, versions[n].Load())
		}
		w.Header().Set("ETag", etag)
		w.Header().Set("Cache-Control", "max-age=10")
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		io.WriteString(w, path+" "+strings.Repeat("x", 512))
	})
	tr := ownTransport(t)
	tr.MaxIdleConnsPerHost = 8
	clk := newClock()
	s, err := session.New(soakConfig(), session.WithUpstream(tr), session.WithClock(clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	c := s.Client()
	baseline := runtime.NumGoroutine()

	const workers = 4
	var next, failures atomic.Int64
	var firstErr sync.Once
	var heapMid uint64
	var midOnce sync.Once
	start := time.Now()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1))
				if i > ops {
					return
				}
				if i == ops/5 {
					midOnce.Do(func() { heapMid = settledHeap() })
				}
				if w == 0 && i%5000 == 0 {
					clk.Advance(11 * time.Second) // every entry goes stale
				}
				if err := soakOp(c, o.URL, i, hot); err != nil {
					failures.Add(1)
					firstErr.Do(func() { t.Errorf("request %d: %v", i, err) })
				}
			}
		}()
	}
	wg.Wait()
	took := time.Since(start)
	heapEnd := settledHeap()
	st := s.Stats()
	n, _ := s.Cache().Len(context.Background())
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	tr.CloseIdleConnections()
	settleGoroutines(t, baseline)

	t.Logf("soak: %d requests in %v (%.0f/s), %d failed; origin requests %d; stats %+v; %d entries; heap after 1/5: %.1f MiB, at end: %.1f MiB",
		ops, took.Round(time.Millisecond), float64(ops)/took.Seconds(), failures.Load(), o.count(), st, n,
		float64(heapMid)/(1<<20), float64(heapEnd)/(1<<20))
	if failures.Load() != 0 {
		t.Fatalf("%d of %d requests failed", failures.Load(), ops)
	}
	if st.Hits == 0 || st.Misses == 0 || st.Revalidated == 0 || st.Invalidated == 0 {
		t.Fatalf("the mix did not exercise every path: %+v", st)
	}
	if heapEnd > heapMid+8<<20 {
		t.Fatalf("heap grew from %.1f MiB to %.1f MiB", float64(heapMid)/(1<<20), float64(heapEnd)/(1<<20))
	}
}

func soakConfig() *config.Config {
	cfg := config.Default()
	cfg.CacheControl = true
	cfg.Memory.MaxSizeMB = 8
	cfg.Memory.Shards = 8
	return cfg
}

// soakOp sends request i of the mix and checks its answer.
func soakOp(c *http.Client, base string, i, hot int) error {
	method, path, ctx := http.MethodGet, fmt.Sprintf("/hot/%d", i%hot), context.Background()
	switch i % 20 {
	case 14, 15, 16:
		path = fmt.Sprintf("/cold/%d", i) // a miss, stored, evicted later
	case 17:
		ctx = session.Refresh(ctx) // a 304 revalidation
	case 18:
		method = http.MethodPost // invalidates the hot entry
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	switch {
	case err != nil:
		return err
	case method == http.MethodPost:
		if resp.StatusCode != http.StatusNoContent {
			return fmt.Errorf("POST %s: status %d", path, resp.StatusCode)
		}
	case resp.StatusCode != http.StatusOK || !strings.HasPrefix(string(body), path+" "):
		return fmt.Errorf("GET %s: status %d, body %.40q", path, resp.StatusCode, body)
	}
	return nil
}

// settledHeap is the live heap after a full collection.
func settledHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
