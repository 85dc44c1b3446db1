package tiered_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/reqcache/reqcache/config"
	"github.com/reqcache/reqcache/internal/mongotest"
	"github.com/reqcache/reqcache/stores"
	"github.com/reqcache/reqcache/stores/memory"
	"github.com/reqcache/reqcache/stores/mongo"
	"github.com/reqcache/reqcache/stores/storetest"
	"github.com/reqcache/reqcache/stores/tiered"
)

func TestMain(m *testing.M) { mongotest.Main(m) }

func mongoCfg(t *testing.T, collection string) config.Mongo {
	c := config.Default().Mongo
	c.URI = mongotest.URI(t)
	c.Database = "reqcache_test"
	c.Collection = collection
	c.ConnectTimeout = config.Duration(10 * time.Second)
	c.OpTimeout = config.Duration(5 * time.Second)
	return c
}

func newTiered(t *testing.T, collection string, maxAge time.Duration, opts ...tiered.Option) (*tiered.Store, stores.Store) {
	t.Helper()
	back, err := mongo.New(context.Background(), mongoCfg(t, collection), nil)
	if err != nil {
		t.Fatal(err)
	}
	front, err := memory.New(config.Memory{MaxSizeMB: 8, Shards: 8}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := tiered.New(front, back, maxAge, nil, opts...)
	t.Cleanup(func() { s.Close() })
	return s, back
}

func TestConformance(t *testing.T) {
	for _, maxAge := range []time.Duration{0, time.Hour} {
		t.Run(maxAge.String(), func(t *testing.T) {
			storetest.Run(t, func(t *testing.T) stores.Store {
				s, _ := newTiered(t, mongotest.Name(t), maxAge)
				return s
			})
		})
	}
}

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func TestFillAndMaxAgeCap(t *testing.T) {
	ctx := context.Background()
	coll := mongotest.Name(t)
	// Two processes' stores over one collection: a writer, and a reader
	// whose memory tier caps copies at a minute.
	writer, _ := newTiered(t, coll, 0)
	// The memory store checks DiscardAt against the real clock, so the cap
	// is tested by dating copies in the past with the tiered clock.
	clk := &clock{now: time.Now()}
	reader, back := newTiered(t, coll, time.Minute, tiered.WithClock(clk.Now))

	e := storetest.NewEntry("shared")
	e.ExpiresAt = time.Now().Add(time.Hour).Truncate(time.Millisecond)
	if err := writer.Set(ctx, e); err != nil {
		t.Fatal(err)
	}
	got, err := reader.Get(ctx, "shared") // from MongoDB, fills memory
	if err != nil || !got.ExpiresAt.Equal(e.ExpiresAt) {
		t.Fatalf("fill: %v %v", err, got)
	}
	// Deleted by the other process: the reader's memory copy still answers
	// within the cap...
	if _, err := back.Delete(ctx, "shared"); err != nil {
		t.Fatal(err)
	}
	if _, err := reader.Get(ctx, "shared"); err != nil {
		t.Fatalf("within the cap the memory copy answers: %v", err)
	}
	// ...and a copy made more than max_age ago is dropped: the delete is seen.
	if err := writer.Set(ctx, e); err != nil {
		t.Fatal(err)
	}
	clk.Advance(-2 * time.Minute) // copies made now are dated two minutes ago
	if _, err := reader.Get(ctx, "missing-so-no-copy"); !errors.Is(err, stores.ErrNotFound) {
		t.Fatalf("missing key: %v", err)
	}
	reader2, _ := newTiered(t, coll, time.Minute, tiered.WithClock(clk.Now))
	if _, err := reader2.Get(ctx, "shared"); err != nil { // fills a copy capped in the past
		t.Fatal(err)
	}
	if _, err := back.Delete(ctx, "shared"); err != nil {
		t.Fatal(err)
	}
	if _, err := reader2.Get(ctx, "shared"); !errors.Is(err, stores.ErrNotFound) {
		t.Fatalf("past the cap the delete must be seen, got %v", err)
	}
}
