package mongo_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/reqcache/reqcache/internal/mongotest"
	"github.com/reqcache/reqcache/stores"
	"github.com/reqcache/reqcache/stores/mongo"
	"github.com/reqcache/reqcache/stores/storetest"
)

// Two processes share a collection. One invalidates a resource while the
// other's exchange for it is under way: the write that lands after the
// invalidation is not kept (ErrOvertaken), whatever process made it, so
// the old representation never comes back for good. A write whose
// exchange began well after the invalidation is kept. Each process reads
// the other's invalidations, not its own.
func TestWriteOvertakenByAnotherProcesssInvalidation(t *testing.T) {
	ctx := context.Background()
	cfg := cfgFor(t, mongotest.URI(t))
	reader, writer := open(t, cfg), open(t, cfg)

	e := storetest.NewEntry("k")
	e.URIKey = "resource"
	e.RequestedAt = time.Now()                                   // the reader's exchange begins...
	if _, err := writer.DeleteURI(ctx, "resource"); err != nil { // ...the writer's unsafe request invalidates...
		t.Fatal(err)
	}
	if err := reader.Set(ctx, e); !errors.Is(err, stores.ErrOvertaken) { // ...and the reader's response lands
		t.Fatalf("Set after another process's invalidation: %v, want ErrOvertaken", err)
	}
	if _, err := reader.Get(ctx, "k"); !errors.Is(err, stores.ErrNotFound) {
		t.Fatalf("the overtaken write was kept: %v", err)
	}

	later := storetest.NewEntry("k")
	later.URIKey = "resource"
	later.RequestedAt = time.Now().Add(time.Minute) // an exchange that began after it (and the clock skew allowed)
	if err := reader.Set(ctx, later); err != nil {
		t.Fatalf("a later exchange's write: %v", err)
	}
	if _, err := reader.Get(ctx, "k"); err != nil {
		t.Fatalf("a later exchange's write was not kept: %v", err)
	}

	evs, err := reader.Invalidations(ctx, time.Now().Add(-time.Minute))
	if err != nil || len(evs) != 1 || evs[0].URIKey != "resource" {
		t.Fatalf("the reader reads %+v (%v), want the writer's one invalidation", evs, err)
	}
	if evs, err := writer.Invalidations(ctx, time.Now().Add(-time.Minute)); err != nil || len(evs) != 0 {
		t.Fatalf("the writer reads its own invalidations: %+v (%v)", evs, err)
	}
}

// Processes that start together each draw a credential key and add it:
// they all end up with the first one stored (two keys would key the
// fleet's entries with credentials apart, each process asking the origin).
func TestAddAliasAgreesAcrossProcesses(t *testing.T) {
	ctx := context.Background()
	cfg := cfgFor(t, mongotest.URI(t))
	const processes = 6
	got := make(chan string, processes)
	var wg sync.WaitGroup
	for i := range processes {
		s := open(t, cfg)
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := s.AddAlias(ctx, "reqcache:credential-key", fmt.Sprintf("key-of-%d", i))
			if err != nil {
				t.Error(err)
			}
			got <- v
		}()
	}
	wg.Wait()
	close(got)
	first := ""
	for v := range got {
		if first == "" {
			first = v
		}
		if v != first {
			t.Fatalf("processes hold %q and %q: two credential keys", first, v)
		}
	}
	if v, err := open(t, cfg).GetAlias(ctx, "reqcache:credential-key"); err != nil || v != first {
		t.Fatalf("stored %q (%v), the processes hold %q", v, err, first)
	}
}

// BenchmarkEventCosts is what coherence adds to MongoDB writes: an
// invalidation publishes an event (an insert), and every write checks for
// an overtaking invalidation (a count of its resource's recent events,
// here among a thousand and more of other resources); beside a Set of a
// 1 KiB entry, in one run.
func BenchmarkEventCosts(b *testing.B) {
	ctx := context.Background()
	s, err := mongo.New(ctx, cfgFor(b, mongotest.URI(b)), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	e := storetest.NewEntry("bench")
	e.URIKey, e.RequestedAt = "resource", time.Now()
	b.Run("set", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := s.Set(ctx, e); err != nil {
				b.Fatal(err)
			}
		}
	})
	n := 0
	b.Run("publish", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			n++ // events for other resources, as a busy fleet makes them
			if err := s.Publish(ctx, fmt.Sprintf("other-%d", n)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("overtaken-check", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			s.OvertakenCheck(ctx, e)
		}
	})
}
