package memory

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/reqcache/reqcache/config"
	"github.com/reqcache/reqcache/stores"
	"github.com/reqcache/reqcache/stores/storetest"
)

// The hot set answers repeated Gets from decoded copies; these tests read
// an entry first (so it is hot) and check that every change to the store
// shows through.
func TestHotSetFollowsEveryChange(t *testing.T) {
	s := newTestStore(t, config.Memory{MaxSizeMB: 8, Shards: 8})
	ctx := context.Background()
	e := storetest.NewEntry("hot")
	e.Body = []byte("v1")
	putEntry(t, s, e)
	for range 2 {
		if got := getEntry(t, s, "hot"); string(got.Body) != "v1" {
			t.Fatalf("body %q", got.Body)
		}
	}
	e.Body = []byte("v2")
	putEntry(t, s, e)
	if got := getEntry(t, s, "hot"); string(got.Body) != "v2" {
		t.Fatalf("after Set, body %q, want v2", got.Body)
	}
	if _, err := s.Delete(ctx, "hot"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "hot"); !errors.Is(err, stores.ErrNotFound) {
		t.Fatalf("after Delete: %v", err)
	}
	putEntry(t, s, e)
	getEntry(t, s, "hot")
	if err := s.Clear(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "hot"); !errors.Is(err, stores.ErrNotFound) {
		t.Fatalf("after Clear: %v", err)
	}
	// An entry replaced by one too large to keep is gone, not served old.
	putEntry(t, s, e)
	getEntry(t, s, "hot")
	big := storetest.CloneEntry(e)
	big.Body = make([]byte, s.MaxEntrySize()+1)
	if err := s.Set(ctx, big); !errors.Is(err, stores.ErrTooLarge) {
		t.Fatalf("Set of a too-large entry: %v", err)
	}
	if _, err := s.Get(ctx, "hot"); !errors.Is(err, stores.ErrNotFound) {
		t.Fatalf("after a too-large Set: %v", err)
	}
	// Past its DiscardAt a hot entry is not found either.
	e.DiscardAt = time.Now().Add(50 * time.Millisecond)
	putEntry(t, s, e)
	getEntry(t, s, "hot")
	time.Sleep(60 * time.Millisecond)
	if _, err := s.Get(ctx, "hot"); !errors.Is(err, stores.ErrNotFound) {
		t.Fatalf("past DiscardAt: %v", err)
	}
	if n, _ := s.Len(ctx); n != 0 {
		t.Fatalf("the discarded entry was not deleted: Len %d", n)
	}
}

// Readers racing a writer may see any version while it writes, but once
// the writer is done every reader sees its last one: a Get that read an
// old version never leaves it in the hot set.
func TestHotSetNoStaleAfterRace(t *testing.T) {
	s := newTestStore(t, config.Memory{MaxSizeMB: 8, Shards: 8})
	ctx := context.Background()
	const keys, versions = 8, 300
	for round := range 5 {
		var wg sync.WaitGroup
		stop := make(chan struct{})
		for r := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					_, _ = s.Get(ctx, fmt.Sprint("k", (i+r)%keys))
				}
			}()
		}
		for v := range versions {
			for k := range keys {
				e := storetest.NewEntry(fmt.Sprint("k", k))
				e.Body = []byte(fmt.Sprint(round, "-", v))
				if err := s.Set(ctx, e); err != nil {
					t.Fatal(err)
				}
			}
		}
		close(stop)
		wg.Wait()
		for k := range keys {
			want := fmt.Sprint(round, "-", versions-1)
			for range 2 { // the second Get is answered from the hot set
				if got := getEntry(t, s, fmt.Sprint("k", k)); string(got.Body) != want {
					t.Fatalf("round %d key %d: body %q after the last Set wrote %q", round, k, got.Body, want)
				}
			}
		}
	}
}

// The hot set stays within its byte budget however many entries are read.
func TestHotSetBounded(t *testing.T) {
	s := newTestStore(t, config.Memory{MaxSizeMB: 16, Shards: 8})
	ctx := context.Background()
	for i := range 20000 {
		e := storetest.NewEntry(fmt.Sprint("b", i))
		e.Body = make([]byte, 512)
		putEntry(t, s, e)
		if _, err := s.Get(ctx, e.Key); err != nil && !errors.Is(err, stores.ErrNotFound) {
			t.Fatal(err)
		}
	}
	h := s.c.Load().hot
	total := 0
	for i := range h.shards {
		sh := &h.shards[i]
		sh.mu.Lock()
		sum := 0
		for _, e := range sh.m {
			sum += entrySize(e)
		}
		if sum != sh.bytes || sh.bytes > h.maxBytes {
			t.Fatalf("shard %d: %d bytes counted, %d held, budget %d", i, sh.bytes, sum, h.maxBytes)
		}
		total += sum
		sh.mu.Unlock()
	}
	if total == 0 || total > hotBytes(15) {
		t.Fatalf("hot set holds %d bytes, budget %d", total, hotBytes(15))
	}
}

func putEntry(t *testing.T, s *Store, e *stores.Entry) {
	t.Helper()
	if err := s.Set(context.Background(), e); err != nil {
		t.Fatalf("Set(%q): %v", e.Key, err)
	}
}

func getEntry(t *testing.T, s *Store, key string) *stores.Entry {
	t.Helper()
	e, err := s.Get(context.Background(), key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	return e
}
