package tiered_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
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

// slowBack holds its first Get after it has read the entry until released,
// so a test can run a delete between the back's answer and the front's
// fill.
type slowBack struct {
	stores.Store
	held          atomic.Bool
	read, release chan struct{}
}

func (b *slowBack) Get(ctx context.Context, key string) (*stores.Entry, error) {
	e, err := b.Store.Get(ctx, key)
	if b.held.CompareAndSwap(false, true) {
		close(b.read)
		<-b.release
	}
	return e, err
}

func (b *slowBack) IndexEntry(ctx context.Context, uriKey, key string) error {
	return b.Store.(stores.URIIndex).IndexEntry(ctx, uriKey, key)
}

func (b *slowBack) SetAliasFor(ctx context.Context, uriKey, alias, value string) error {
	return b.Store.(stores.URIIndex).SetAliasFor(ctx, uriKey, alias, value)
}

func (b *slowBack) DeleteURI(ctx context.Context, uriKey string) (int, error) {
	return b.Store.(stores.URIIndex).DeleteURI(ctx, uriKey)
}

// TestFillRacingADeleteLeavesNothing: a read of the back that a delete
// overtakes (an unsafe request's invalidation, while another caller's
// read was filling the front) must not bring the deleted copy back to the
// front, where it would answer every later read (the oracle found it on
// the tiered store, seed 3: a PUT's variant served after the PUT). Two
// memory stores: the race is the tiered store's own.
func TestFillRacingADeleteLeavesNothing(t *testing.T) {
	ctx := context.Background()
	mem := func() stores.Store {
		m, err := memory.New(config.Memory{MaxSizeMB: 8, Shards: 8}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	for _, del := range []string{"Delete", "DeleteURI", "Clear"} {
		t.Run(del, func(t *testing.T) {
			front := mem()
			back := &slowBack{Store: mem(), read: make(chan struct{}), release: make(chan struct{})}
			s := tiered.New(front, back, 0, nil)
			defer s.Close()
			e := &stores.Entry{Key: "k", URIKey: "u", URL: "http://example.com/", StatusCode: 200, Body: []byte("before the PUT")}
			if err := back.Store.Set(ctx, e); err != nil { // the back alone: the front misses
				t.Fatal(err)
			}
			if err := back.Store.(stores.URIIndex).IndexEntry(ctx, "u", "k"); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() {
				_, err := s.Get(ctx, "k")
				done <- err
			}()
			<-back.read // the back has answered; the fill has not happened
			var err error
			switch del {
			case "Delete":
				_, err = s.Delete(ctx, "k")
			case "DeleteURI":
				_, err = s.DeleteURI(ctx, "u")
			case "Clear":
				err = s.Clear(ctx)
			}
			if err != nil {
				t.Fatal(err)
			}
			close(back.release)
			if err := <-done; err != nil {
				t.Fatalf("the racing read: %v", err)
			}
			if got, err := s.Get(ctx, "k"); !errors.Is(err, stores.ErrNotFound) {
				t.Fatalf("after %s, a read found %q (%v): the racing fill brought the deleted entry back", del, got.Body, err)
			}
		})
	}
}

// An invalidation made by another process (DeleteURI through its tiered
// store) reaches this process's memory tier within a poll, with max_age 0
// (the default, which kept the copy for good before); without polling the
// copy keeps answering.
func TestOtherProcessesInvalidationsReachTheMemoryTier(t *testing.T) {
	ctx := context.Background()
	coll := mongotest.Name(t)
	writer, _ := newTiered(t, coll, 0, tiered.WithInvalidationPoll(50*time.Millisecond))
	following, _ := newTiered(t, coll, 0, tiered.WithInvalidationPoll(50*time.Millisecond))
	deaf, _ := newTiered(t, coll, 0) // no polling: max_age bounds alone
	e := storetest.NewEntry("shared")
	e.URIKey = "resource"
	if err := writer.Set(ctx, e); err != nil {
		t.Fatal(err)
	}
	if err := writer.IndexEntry(ctx, "resource", "shared"); err != nil {
		t.Fatal(err)
	}
	for _, s := range []*tiered.Store{following, deaf} {
		if _, err := s.Get(ctx, "shared"); err != nil { // from MongoDB, fills memory
			t.Fatal(err)
		}
	}
	if _, err := writer.DeleteURI(ctx, "resource"); err != nil { // an unsafe request in the writer's process
		t.Fatal(err)
	}
	awaitGone(t, following, "shared", "the memory tier")
	if _, err := deaf.Get(ctx, "shared"); err != nil {
		t.Fatalf("without polling the memory copy answers until max_age, as documented; got %v", err)
	}
	if following, _, degraded := following.Coherence(); !following || degraded {
		t.Fatalf("Coherence: following %v, degraded %v", following, degraded)
	}
}

// A copy the following process wrote itself, which the session does not
// list under its resource (a plain GET's entry is found from the URI
// alone), is dropped too when another process invalidates the resource:
// the other process's event names only the resource (the model test's
// fleet mode, seed 3010: it kept answering).
func TestOtherProcessesInvalidationsReachCopiesWrittenHere(t *testing.T) {
	ctx := context.Background()
	coll := mongotest.Name(t)
	writer, _ := newTiered(t, coll, 0, tiered.WithInvalidationPoll(50*time.Millisecond))
	following, _ := newTiered(t, coll, 0, tiered.WithInvalidationPoll(50*time.Millisecond))
	e := storetest.NewEntry("bare")
	e.URIKey = "resource"
	if err := following.Set(ctx, e); err != nil { // stored by this process, not listed
		t.Fatal(err)
	}
	// The other process's invalidation: the key it computes from the URI,
	// then the resource (as the session's deleteURI does).
	if _, err := writer.Delete(ctx, "bare"); err != nil {
		t.Fatal(err)
	}
	if _, err := writer.DeleteURI(ctx, "resource"); err != nil {
		t.Fatal(err)
	}
	awaitGone(t, following, "bare", "the memory tier's own copy")
}

// awaitGone waits up to two seconds for key to be gone from s after
// another process's invalidation.
func awaitGone(t *testing.T, s *tiered.Store, key, what string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for {
		_, err := s.Get(context.Background(), key)
		if errors.Is(err, stores.ErrNotFound) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("two seconds after another process's invalidation %s still answers (%v)", what, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// While the invalidations cannot be read (MongoDB stopped), a memory tier
// with max_age 0 stops answering: it cannot know what it missed. It says
// so (Coherence), and answers again once it has caught up.
func TestMemoryTierStopsAnsweringWhenItCannotFollow(t *testing.T) {
	ctx := context.Background()
	srv := mongotest.Private(t)
	cfg := mongoCfg(t, mongotest.Name(t))
	cfg.URI = srv.URI
	cfg.OpTimeout = config.Duration(300 * time.Millisecond)
	back, err := mongo.New(ctx, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	front, err := memory.New(config.Memory{MaxSizeMB: 8, Shards: 8}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := tiered.New(front, back, 0, nil, tiered.WithInvalidationPoll(50*time.Millisecond))
	t.Cleanup(func() { s.Close() })
	e := storetest.NewEntry("k")
	if err := s.Set(ctx, e); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := s.Get(ctx, "k")
		if err != nil {
			break // the front no longer answers; the back is down
		}
		if time.Now().After(deadline) {
			t.Fatal("five seconds after MongoDB stopped, the memory tier still answers with max_age 0")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, _, degraded := s.Coherence(); !degraded {
		t.Fatal("Coherence does not say the tier cannot follow")
	}
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(15 * time.Second)
	for {
		if _, err := s.Get(ctx, "k"); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("after MongoDB restarted, the entry is never answered again")
		}
		time.Sleep(100 * time.Millisecond)
	}
}
