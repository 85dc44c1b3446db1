package mongo_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/reqcache/reqcache/internal/mongotest"
	"github.com/reqcache/reqcache/stores"
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
