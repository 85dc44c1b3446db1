package mongo_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	driver "go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/reqcache/reqcache/config"
	"github.com/reqcache/reqcache/internal/mongotest"
	"github.com/reqcache/reqcache/stores"
	"github.com/reqcache/reqcache/stores/mongo"
	"github.com/reqcache/reqcache/stores/storetest"
)

// clock is a controllable time shared by the stores of one test.
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC).UnixNano())
	return c
}
func (c *clock) now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) advance(d time.Duration) { c.ns.Add(int64(d)) }

func TestLeases(t *testing.T) {
	c := cfgFor(t, mongotest.URI(t))
	c.Lease = config.Duration(10 * time.Second)
	clk := newClock()
	a, b := open(t, c), open(t, c) // two processes sharing the collection
	a.SetClock(clk.now)
	b.SetClock(clk.now)
	ctx := context.Background()

	t.Run("one holder at a time", func(t *testing.T) {
		la, err := a.AcquireLease(ctx, "k1")
		if err != nil || !la.Held || la.Token == "" {
			t.Fatalf("first acquire: %+v %v", la, err)
		}
		lb, err := b.AcquireLease(ctx, "k1")
		if err != nil || lb.Held || lb.Abandoned || !lb.Until.Equal(la.Until) {
			t.Fatalf("second acquire: %+v %v (holder's until %v)", lb, err, la.Until)
		}
		if err := a.ReleaseLease(ctx, "k1", la, true); err != nil {
			t.Fatal(err)
		}
		lb, err = b.AcquireLease(ctx, "k1")
		if err != nil || !lb.Held {
			t.Fatalf("after release: %+v %v", lb, err)
		}
		b.ReleaseLease(ctx, "k1", lb, true)
	})

	t.Run("an unstored response abandons the lease until it ends", func(t *testing.T) {
		la, _ := a.AcquireLease(ctx, "k2")
		if err := a.ReleaseLease(ctx, "k2", la, false); err != nil {
			t.Fatal(err)
		}
		lb, err := b.AcquireLease(ctx, "k2")
		if err != nil || lb.Held || !lb.Abandoned {
			t.Fatalf("after an abandoned release: %+v %v", lb, err)
		}
		clk.advance(11 * time.Second)
		if lb, _ = b.AcquireLease(ctx, "k2"); !lb.Held {
			t.Fatalf("after the abandoned lease ended: %+v", lb)
		}
	})

	t.Run("a dead holder's lease is taken over once it ends", func(t *testing.T) {
		la, _ := a.AcquireLease(ctx, "k3")
		clk.advance(9 * time.Second)
		if lb, _ := b.AcquireLease(ctx, "k3"); lb.Held {
			t.Fatal("taken over before it ended")
		}
		clk.advance(2 * time.Second)
		lb, err := b.AcquireLease(ctx, "k3")
		if err != nil || !lb.Held || lb.Token == la.Token {
			t.Fatalf("take-over: %+v %v", lb, err)
		}
		// The old holder's late release must not end the new holding.
		if err := a.ReleaseLease(ctx, "k3", la, true); err != nil {
			t.Fatal(err)
		}
		if l, _ := a.AcquireLease(ctx, "k3"); l.Held {
			t.Fatal("a stale release ended the new holder's lease")
		}
	})

	// (issue 40, finding 2) Waits are bounded by this process's lease,
	// and a take-over abandoned half-way does not lock a key for good.
	leases := raw(t, c).Database().Collection(c.Collection + "_leases")
	t.Run("a planted lease of an hour is waited for one lease at most", func(t *testing.T) {
		if _, err := leases.InsertOne(ctx, bson.D{{Key: "_id", Value: "k6"}, {Key: "token", Value: "planted"}, {Key: "until", Value: clk.now().Add(time.Hour).UTC()}, {Key: "state", Value: "fetching"}}); err != nil {
			t.Fatal(err)
		}
		l, err := b.AcquireLease(ctx, "k6")
		if err != nil || l.Held || l.Until.After(clk.now().Add(10*time.Second)) {
			t.Fatalf("a planted hour-long lease: %+v %v, want a wait of at most the 10 s lease", l, err)
		}
	})
	t.Run("a take-over abandoned half-way ends with its marker", func(t *testing.T) {
		now := clk.now()
		if _, err := leases.InsertMany(ctx, []any{
			bson.D{{Key: "_id", Value: "k7"}, {Key: "token", Value: "old"}, {Key: "until", Value: now.Add(-time.Second).UTC()}, {Key: "state", Value: "fetching"}},
			bson.D{{Key: "_id", Value: "k7@old"}, {Key: "token", Value: "gone"}, {Key: "until", Value: now.Add(10 * time.Second).UTC()}, {Key: "state", Value: "takeover"}},
		}); err != nil {
			t.Fatal(err)
		}
		if l, _ := b.AcquireLease(ctx, "k7"); l.Held {
			t.Fatal("taken over while another take-over may still be under way")
		}
		clk.advance(11 * time.Second)
		if l, err := b.AcquireLease(ctx, "k7"); err != nil || !l.Held {
			t.Fatalf("after the abandoned take-over's marker ended: %+v %v (the key stayed unacquirable)", l, err)
		}
	})

	// holders races 16 acquisitions of key from the two processes.
	holders := func(key string) int64 {
		var held atomic.Int64
		var wg sync.WaitGroup
		for i := 0; i < 16; i++ {
			wg.Add(1)
			go func(s *mongo.Store) {
				defer wg.Done()
				if l, err := s.AcquireLease(ctx, key); err == nil && l.Held {
					held.Add(1)
				}
			}([]*mongo.Store{a, b}[i%2])
		}
		wg.Wait()
		return held.Load()
	}

	t.Run("racing processes: exactly one holds", func(t *testing.T) {
		if n := holders("k4"); n != 1 {
			t.Fatalf("%d holders", n)
		}
	})

	t.Run("racing take-overs: exactly one holds", func(t *testing.T) {
		for round := 0; round < 5; round++ {
			key := "k5-" + string(rune('a'+round))
			if l, _ := a.AcquireLease(ctx, key); !l.Held {
				t.Fatal("first acquire")
			}
			clk.advance(11 * time.Second) // the holder died
			if n := holders(key); n != 1 {
				t.Fatalf("round %d: %d processes took the lease over", round, n)
			}
		}
	})
}

func TestSweepDeletesExpiredEntriesAndTheirBodies(t *testing.T) {
	c := cfgFor(t, mongotest.URI(t))
	clk := newClock()
	s := open(t, c)
	s.SetClock(clk.now)
	ctx := context.Background()
	now := clk.now()

	old := storetest.NewEntry("expired-long-ago")
	old.ExpiresAt = now.Add(-48 * time.Hour)
	big := storetest.NewEntry("expired-big")
	big.ExpiresAt = now.Add(-48 * time.Hour)
	big.Body = make([]byte, 16<<20) // through GridFS
	rand.NewChaCha8([32]byte{2}).Read(big.Body)
	recent := storetest.NewEntry("expired-recently")
	recent.ExpiresAt = now.Add(-time.Hour)
	fresh := storetest.NewEntry("fresh")
	fresh.ExpiresAt = now.Add(time.Hour)
	for _, e := range []*stores.Entry{old, big, recent, fresh} {
		if err := s.Set(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	// A body no entry refers to: a TTL index removed its entry, or a
	// process died between writing the body and the entry.
	client, err := driver.Connect(options.Client().ApplyURI(c.URI))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Disconnect(ctx)
	db := client.Database(c.Database)
	files := db.Collection(c.Collection + "_bodies.files")
	orphan := bson.NewObjectID()
	if _, err := files.InsertOne(ctx, bson.D{{Key: "_id", Value: orphan}, {Key: "length", Value: int64(0)},
		{Key: "chunkSize", Value: int32(255 << 10)}, {Key: "uploadDate", Value: now.Add(-time.Hour)}, {Key: "filename", Value: "lost"}}); err != nil {
		t.Fatal(err)
	}
	if n, _ := files.CountDocuments(ctx, bson.D{}); n != 2 {
		t.Fatalf("%d GridFS files before the sweep, want 2", n)
	}

	n, err := s.Sweep(ctx, now.Add(-24*time.Hour)) // retention 24h
	if err != nil || n != 2 {
		t.Fatalf("Sweep: %d deleted, %v; want 2", n, err)
	}
	for key, want := range map[string]bool{"expired-long-ago": false, "expired-big": false, "expired-recently": true, "fresh": true} {
		_, err := s.Get(ctx, key)
		if (err == nil) != want {
			t.Errorf("%s: kept=%v, want %v", key, err == nil, want)
		}
	}
	if n, _ := files.CountDocuments(ctx, bson.D{}); n != 0 {
		t.Fatalf("%d GridFS files left, want 0 (the expired entry's and the orphan)", n)
	}
}

// sweeperChild is a process of the sweeper test: it opens the store
// (whose sweeper starts), keeps it open for FLEET_SWEEP_FOR, closes it and
// prints how many sweeps it made.
const sweeperChildEnv = "REQCACHE_TEST_SWEEPER_CHILD"

func runSweeperChild() int {
	c := config.Default().Mongo
	c.URI, c.Database, c.Collection = os.Getenv("CHILD_MONGO_URI"), "reqcache_test", os.Getenv("CHILD_COLLECTION")
	c.Retention = config.Duration(time.Hour)
	c.SweepInterval = config.Duration(300 * time.Millisecond)
	core, logs := observer.New(zap.DebugLevel)
	s, err := mongo.New(context.Background(), c, zap.New(core))
	if err != nil {
		fmt.Println("open:", err)
		return 1
	}
	d, _ := time.ParseDuration(os.Getenv("FLEET_SWEEP_FOR"))
	time.Sleep(d)
	if err := s.Close(); err != nil {
		fmt.Println("close:", err)
		return 1
	}
	fmt.Printf("sweeps=%d failed=%d\n", logs.FilterMessage("reqcache: mongo sweep").Len(), logs.FilterMessage("reqcache: mongo sweep failed").Len())
	return 0
}

// Every process runs a sweeper; the sweeper lease lets one of them sweep
// per interval: three OS processes sharing a collection for 2 s at a
// 300 ms interval sweep about 7 times in all, not about 20.
func TestOneSweeperAcrossProcesses(t *testing.T) {
	c := cfgFor(t, mongotest.URI(t))
	ctx := context.Background()
	seed := open(t, c)
	e := storetest.NewEntry("gone")
	e.ExpiresAt = time.Now().Add(-2 * time.Hour)
	if err := seed.Set(ctx, e); err != nil {
		t.Fatal(err)
	}
	const processes, interval, runFor = 3, 300 * time.Millisecond, 2 * time.Second
	outs := make([][]byte, processes)
	errs := make([]error, processes)
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < processes; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), sweeperChildEnv+"=1", "CHILD_MONGO_URI="+c.URI,
				"CHILD_COLLECTION="+c.Collection, "FLEET_SWEEP_FOR="+runFor.String())
			outs[i], errs[i] = cmd.CombinedOutput()
		}(i)
	}
	wg.Wait()
	elapsed := time.Since(start)
	sweeps := 0
	for i := range outs {
		var n, failed int
		if _, err := fmt.Sscanf(strings.TrimSpace(string(outs[i])), "sweeps=%d failed=%d", &n, &failed); errs[i] != nil || err != nil || failed != 0 {
			t.Fatalf("process %d: %v %q", i, errs[i], outs[i])
		}
		sweeps += n
	}
	if most := int(elapsed/interval) + 1; sweeps == 0 || sweeps > most {
		t.Fatalf("%d sweeps in %v across %d processes, want 1 to %d", sweeps, elapsed, processes, most)
	}
	n, err := raw(t, c).CountDocuments(ctx, bson.D{{Key: "_id", Value: "gone"}})
	if err != nil || n != 0 {
		t.Fatalf("the expired document is still stored (%d, %v)", n, err)
	}
}

// With retention 0 (the default) the sweeper still runs: expired entries
// stay, but a body no entry refers to is deleted (issue 40, finding 5: an
// invalidation racing a GridFS write left a 15.5 MiB body for good).
func TestOrphanBodiesSweptWithoutRetention(t *testing.T) {
	c := cfgFor(t, mongotest.URI(t))
	c.Retention = 0
	c.SweepInterval = config.Duration(50 * time.Millisecond)
	s := open(t, c) // on the real clock: its sweeper runs from the start
	ctx := context.Background()
	expired := storetest.NewEntry("expired")
	expired.ExpiresAt = time.Now().Add(-48 * time.Hour)
	if err := s.Set(ctx, expired); err != nil {
		t.Fatal(err)
	}
	files := raw(t, c).Database().Collection(c.Collection + "_bodies.files")
	if _, err := files.InsertOne(ctx, bson.D{{Key: "_id", Value: bson.NewObjectID()}, {Key: "length", Value: int64(0)},
		{Key: "chunkSize", Value: int32(255 << 10)}, {Key: "uploadDate", Value: time.Now().Add(-time.Hour)}, {Key: "filename", Value: "lost"}}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		n, _ := files.CountDocuments(ctx, bson.D{})
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d orphaned bodies left with retention 0", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := s.Get(ctx, "expired"); err != nil {
		t.Fatalf("retention 0 keeps expired entries: %v", err)
	}
}
