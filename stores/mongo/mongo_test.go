package mongo_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	driver "go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/reqcache/reqcache/config"
	"github.com/reqcache/reqcache/internal/mongotest"
	"github.com/reqcache/reqcache/stores"
	"github.com/reqcache/reqcache/stores/mongo"
	"github.com/reqcache/reqcache/stores/storetest"
)

func TestMain(m *testing.M) {
	if os.Getenv(sweeperChildEnv) != "" {
		os.Exit(runSweeperChild())
	}
	mongotest.Main(m)
}

func cfgFor(t testing.TB, uri string) config.Mongo {
	c := config.Default().Mongo
	c.URI = uri
	c.Database = "reqcache_test"
	c.Collection = mongotest.Name(t)
	c.ConnectTimeout = config.Duration(10 * time.Second)
	c.OpTimeout = config.Duration(5 * time.Second)
	return c
}

func open(t *testing.T, c config.Mongo) *mongo.Store {
	t.Helper()
	s, err := mongo.New(context.Background(), c, nil)
	if err != nil {
		t.Fatalf("mongo.New: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	uri := mongotest.URI(t)
	storetest.Run(t, func(t *testing.T) stores.Store { return open(t, cfgFor(t, uri)) })
}

// Sealed ([encryption]), the store passes the same suite.
func TestConformanceSealed(t *testing.T) {
	uri := mongotest.URI(t)
	storetest.Run(t, func(t *testing.T) stores.Store {
		s, err := mongo.New(context.Background(), cfgFor(t, uri), nil, mongo.WithSeal(ring(t, 5)))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

// raw gives direct access to the collection, to see and damage documents.
func raw(t *testing.T, c config.Mongo) *driver.Collection {
	client, err := driver.Connect(options.Client().ApplyURI(c.URI))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Disconnect(context.Background()) })
	return client.Database(c.Database).Collection(c.Collection)
}

func TestDocumentsAreReadable(t *testing.T) {
	c := cfgFor(t, mongotest.URI(t))
	s := open(t, c)
	ctx := context.Background()
	e := storetest.NewEntry("k1")
	if err := s.Set(ctx, e); err != nil {
		t.Fatal(err)
	}
	var doc bson.M
	if err := raw(t, c).FindOne(ctx, bson.D{{Key: "_id", Value: "k1"}}).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	if doc["url"] != e.URL || doc["method"] != e.Method || doc["status"] != int32(e.StatusCode) {
		t.Fatalf("document fields: %v", doc)
	}
	if _, ok := doc["created_at"].(bson.DateTime); !ok {
		t.Fatalf("created_at is %T, want a BSON date", doc["created_at"])
	}
	// GeneratedAt is kept (a fleet's hits on each other's entries parse no
	// Date), and a document of a build before it is read without it.
	got, err := s.Get(ctx, "k1")
	if err != nil || got.GeneratedAt.IsZero() || !storetest.TimeEqual(e.GeneratedAt, got.GeneratedAt) {
		t.Fatalf("GeneratedAt read back as %v (%v), want %v", got.GeneratedAt, err, e.GeneratedAt)
	}
	if _, err := raw(t, c).UpdateOne(ctx, bson.D{{Key: "_id", Value: "k1"}}, bson.D{{Key: "$unset", Value: bson.D{{Key: "generated_at", Value: ""}}}}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Get(ctx, "k1"); err != nil || !got.GeneratedAt.IsZero() {
		t.Fatalf("a document without generated_at: %v, GeneratedAt %v", err, got.GeneratedAt)
	}
}

func TestCorruptDocumentsAreMisses(t *testing.T) {
	c := cfgFor(t, mongotest.URI(t))
	s := open(t, c)
	ctx := context.Background()
	coll := raw(t, c)
	docs := []any{
		bson.D{{Key: "_id", Value: "wrong-type"}, {Key: "v", Value: 1}, {Key: "status", Value: "two hundred"}},
		bson.D{{Key: "_id", Value: "future-version"}, {Key: "v", Value: 99}, {Key: "status", Value: 200}},
		bson.D{{Key: "_id", Value: "bad-size"}, {Key: "v", Value: 1}, {Key: "status", Value: 200}, {Key: "body", Value: []byte("abc")}, {Key: "body_size", Value: 10}},
	}
	if _, err := coll.InsertMany(ctx, docs); err != nil {
		t.Fatal(err)
	}
	if err := s.Set(ctx, storetest.NewEntry("good")); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"wrong-type", "future-version", "bad-size"} {
		if _, err := s.Get(ctx, k); !errors.Is(err, stores.ErrCorrupt) {
			t.Errorf("%s: %v, want ErrCorrupt", k, err)
		}
	}
	seen := 0
	if err := s.Scan(ctx, func(e *stores.Entry) bool { seen++; return true }); err != nil || seen != 1 {
		t.Fatalf("Scan saw %d entries (%v), want only the good one", seen, err)
	}
}

func TestLargeBodyGoesThroughGridFS(t *testing.T) {
	c := cfgFor(t, mongotest.URI(t))
	s := open(t, c)
	ctx := context.Background()
	e := storetest.NewEntry("big")
	e.Body = make([]byte, 20<<20) // 20 MiB that do not compress
	rand.NewChaCha8([32]byte{1}).Read(e.Body)
	if err := s.Set(ctx, e); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, "big")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Body, e.Body) {
		t.Fatalf("body of %d bytes came back as %d", len(e.Body), len(got.Body))
	}
	files := func() int64 {
		client, _ := driver.Connect(options.Client().ApplyURI(c.URI))
		defer client.Disconnect(ctx)
		n, err := client.Database(c.Database).Collection(c.Collection+"_bodies.files").CountDocuments(ctx, bson.D{})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if files() != 1 {
		t.Fatalf("%d GridFS files, want 1", files())
	}
	if n, err := s.Delete(ctx, "big"); n != 1 || err != nil {
		t.Fatalf("Delete: %d %v", n, err)
	}
	if files() != 0 {
		t.Fatal("deleting the entry left its GridFS file")
	}
}

func TestUnreachableServerFailsFastWithMaskedPassword(t *testing.T) {
	c := config.Default().Mongo
	c.URI = "mongodb://reqcache:hunter2@127.0.0.1:1/?connectTimeoutMS=500"
	c.ConnectTimeout = config.Duration(time.Second)
	start := time.Now()
	_, err := mongo.New(context.Background(), c, nil)
	if err == nil {
		t.Fatal("connected to a closed port")
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("took %v with connect_timeout 1s", d)
	}
	if strings.Contains(err.Error(), "hunter2") || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Fatalf("error must name the host and hide the password: %v", err)
	}
	// It names the settings and the likely fix, as configuration errors
	// do (issue 41, finding 3).
	for _, want := range []string{"mongo.uri", "mongo.connect_timeout (1s)", "is MongoDB running"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	c.URI = "postgres://reqcache:hunter2@127.0.0.1:1/"
	if _, err := mongo.New(context.Background(), c, nil); err == nil || !strings.Contains(err.Error(), "mongo.uri") || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("a URI that is not MongoDB's: %v", err)
	}
}

func TestOutageAndRecovery(t *testing.T) {
	srv := mongotest.Private(t)
	c := cfgFor(t, srv.URI)
	c.OpTimeout = config.Duration(time.Second)
	s := open(t, c)
	ctx := context.Background()
	if err := s.Set(ctx, storetest.NewEntry("k")); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	start := time.Now()
	for i := 0; i < 5; i++ {
		if _, err := s.Get(ctx, "k"); err == nil {
			t.Fatal("Get succeeded with the server down")
		}
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("5 failing Gets took %v: the store must fail fast during an outage", d)
	}
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, err := s.Get(ctx, "k")
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the store did not recover after the restart: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// Bodies are stored compressed: a JSON body several times smaller in its
// document, already-compressed content as it is, and documents of either
// kind readable by a store with either setting.
func TestCompressedBodies(t *testing.T) {
	c := cfgFor(t, mongotest.URI(t))
	zs := open(t, c)
	plain := c
	plain.Compress = config.CompressNone
	ns := open(t, plain)
	ctx := context.Background()

	jsonEntry := storetest.NewEntry("json")
	jsonEntry.Body = jsonArray100K()
	jsonEntry.Header.Set("Content-Type", "application/json")
	jsonEntry.Header.Del("Content-Encoding")
	gz := storetest.NewEntry("gzipped")
	gz.Body = bytes.Repeat([]byte("already gzip-encoded bytes "), 100)
	gz.Header.Set("Content-Encoding", "gzip")
	old := storetest.NewEntry("old")
	old.Body = bytes.Repeat([]byte("written without compression "), 100)
	old.Header.Del("Content-Encoding")

	for _, w := range []struct {
		s *mongo.Store
		e *stores.Entry
	}{{zs, jsonEntry}, {zs, gz}, {ns, old}} {
		if err := w.s.Set(ctx, w.e); err != nil {
			t.Fatal(err)
		}
	}
	docs := raw(t, c)
	stored := func(key string) (int, string) {
		var d struct {
			Body     []byte `bson:"body"`
			Encoding string `bson:"body_encoding"`
			Size     int64  `bson:"body_size"`
		}
		if err := docs.FindOne(ctx, bson.D{{Key: "_id", Value: key}}).Decode(&d); err != nil {
			t.Fatal(err)
		}
		return len(d.Body), d.Encoding
	}
	if n, enc := stored("json"); enc != "zstd" || n*4 > len(jsonEntry.Body) {
		t.Fatalf("a %d-byte JSON body stored as %d bytes (%q): want at least 4x smaller", len(jsonEntry.Body), n, enc)
	} else {
		t.Logf("%d-byte JSON body stored as %d bytes (%.1fx)", len(jsonEntry.Body), n, float64(len(jsonEntry.Body))/float64(n))
	}
	if n, enc := stored("gzipped"); enc != "" || n != len(gz.Body) {
		t.Fatalf("an already encoded body was compressed again: %d bytes, %q", n, enc)
	}
	if _, enc := stored("old"); enc != "" {
		t.Fatalf("compress = none wrote %q", enc)
	}
	for _, r := range []*mongo.Store{zs, ns} {
		for _, want := range []*stores.Entry{jsonEntry, gz, old} {
			got, err := r.Get(ctx, want.Key)
			if err != nil || !bytes.Equal(got.Body, want.Body) {
				t.Fatalf("reading %s: %v", want.Key, err)
			}
		}
	}
}

// jsonArray100K is a 100 KiB JSON array of user records, as an API returns.
func jsonArray100K() []byte {
	var js bytes.Buffer
	js.WriteString("[")
	for i := 0; js.Len() < 100<<10; i++ {
		fmt.Fprintf(&js, `{"id":%d,"name":"user %d","email":"user%d@example.com","active":true,"roles":["reader","writer"]},`, i, i, i)
	}
	js.WriteString("{}]")
	return js.Bytes()
}

// BenchmarkStoreJSONBody writes and reads back a 100 KiB JSON entry with
// and without compression, in one run: stored-bytes is the document's body
// field, x-smaller how much smaller zstd stores it (goal 4 at least).
func BenchmarkStoreJSONBody(b *testing.B) {
	uri := mongotest.URI(b)
	body := jsonArray100K()
	stored := map[string]int{}
	for _, mode := range []string{config.CompressNone, config.CompressZstd} {
		b.Run(mode, func(b *testing.B) {
			c := config.Default().Mongo
			c.URI, c.Database, c.Collection, c.Compress = uri, "reqcache_bench", mongotest.Name(b), mode
			s, err := mongo.New(context.Background(), c, nil)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			ctx := context.Background()
			e := storetest.NewEntry("json")
			e.Body = body
			e.Header.Set("Content-Type", "application/json")
			e.Header.Del("Content-Encoding")
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if err := s.Set(ctx, e); err != nil {
					b.Fatal(err)
				}
				if _, err := s.Get(ctx, "json"); err != nil {
					b.Fatal(err)
				}
			}
			client, err := driver.Connect(options.Client().ApplyURI(uri))
			if err != nil {
				b.Fatal(err)
			}
			defer client.Disconnect(ctx)
			var d struct {
				Body []byte `bson:"body"`
			}
			if err := client.Database(c.Database).Collection(c.Collection).FindOne(ctx, bson.D{{Key: "_id", Value: "json"}}).Decode(&d); err != nil {
				b.Fatal(err)
			}
			stored[mode] = len(d.Body)
			b.ReportMetric(float64(len(d.Body)), "stored-bytes")
			if mode == config.CompressZstd && len(d.Body) > 0 {
				b.ReportMetric(float64(stored[config.CompressNone])/float64(len(d.Body)), "x-smaller")
			}
		})
	}
}

// expiresOnceAsked is a caller's context whose deadline passes as soon as
// the store has looked at it: the call starts, and the caller's own
// deadline ends it mid-way.
type expiresOnceAsked struct {
	context.Context
	once sync.Once
	done chan struct{}
	over atomic.Bool
}

func newExpiresOnceAsked() *expiresOnceAsked {
	return &expiresOnceAsked{Context: context.Background(), done: make(chan struct{})}
}

func (c *expiresOnceAsked) Err() error {
	if c.over.Load() {
		return context.DeadlineExceeded
	}
	c.once.Do(func() { c.over.Store(true); close(c.done) })
	return nil
}

func (c *expiresOnceAsked) Done() <-chan struct{} { return c.done }

func (c *expiresOnceAsked) Deadline() (time.Time, bool) { return time.Now(), true }

// A caller's context ending is never an outage (issue 40, finding 1): one
// caller whose deadline ran out during a read made the store fail every
// call for a second, invalidation's deletes included.
func TestCallersDeadlineIsNotAnOutage(t *testing.T) {
	c := cfgFor(t, mongotest.URI(t))
	s := open(t, c)
	ctx := context.Background()
	if err := s.Set(ctx, storetest.NewEntry("k")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(newExpiresOnceAsked(), "k"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a Get whose caller's deadline passed mid-way: %v, want its deadline", err)
	}
	if _, err := s.Get(ctx, "k"); err != nil {
		t.Fatalf("the next caller's Get: %v (one caller's deadline taken for an outage)", err)
	}
	if n, err := s.Delete(ctx, "k"); err != nil || n != 1 {
		t.Fatalf("the next Delete = %d, %v", n, err)
	}
}

// zstdBomb is a zstd frame of 4 bytes a 128 KiB block (RLE blocks) that
// expands to n blocks; withSize says the frame's content size in its
// header (a single-segment frame) or leaves it out (an 8 MiB window).
func zstdBomb(n int, withSize bool) []byte {
	b := []byte{0x28, 0xB5, 0x2F, 0xFD}
	if withSize {
		b = append(b, 0xE0) // an 8-byte content size, single segment
		b = binary.LittleEndian.AppendUint64(b, uint64(n)<<17)
	} else {
		b = append(b, 0x00, 13<<3) // no content size; a 2^23 window
	}
	for i := 0; i < n; i++ {
		h := uint32(1<<17)<<3 | 1<<1 // a 128 KiB RLE block
		if i == n-1 {
			h |= 1
		}
		b = append(b, byte(h), byte(h>>8), byte(h>>16), 'x')
	}
	return b
}

// Hostile documents cost no more than the size they declare, bounded by
// max_body_bytes, and are misses, never an outage (issue 40, findings 3
// and 4): a 16 KB frame expanding to 512 MiB made a read allocate it all,
// and a body_size of 2^54 overflowed the GridFS read's timeout into a
// negative one, which failed as an outage (the store off for a second, the
// document never deleted).
func TestHostileDocumentsAreBoundedMisses(t *testing.T) {
	c := cfgFor(t, mongotest.URI(t))
	s, err := mongo.New(context.Background(), c, nil, mongo.WithMaxBodyBytes(16<<20))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ctx := context.Background()
	coll := raw(t, c)
	doc := func(id string, body []byte, size int64, zstd bool) bson.D {
		d := bson.D{{Key: "_id", Value: id}, {Key: "v", Value: stores.ModelVersion}, {Key: "status", Value: 200}, {Key: "method", Value: "GET"}, {Key: "url", Value: "http://x/" + id},
			{Key: "body", Value: body}, {Key: "body_size", Value: size}}
		if zstd {
			d = append(d, bson.E{Key: "body_encoding", Value: "zstd"})
		}
		return d
	}
	docs := []any{
		doc("bomb-says-small", zstdBomb(4096, true), 1000, true),
		doc("bomb-no-size", zstdBomb(4096, false), 1000, true),
		doc("bomb-says-large", zstdBomb(4096, true), 4096<<17, true),
		doc("huge-size", []byte("abc"), 1<<54, false),
		append(doc("huge-size-gridfs", nil, 1<<54, false), bson.E{Key: "gridfs_id", Value: bson.NewObjectID()}),
		doc("negative-size", []byte("abc"), -1, false),
	}
	if _, err := coll.InsertMany(ctx, docs); err != nil {
		t.Fatal(err)
	}
	if err := s.Set(ctx, storetest.NewEntry("good")); err != nil {
		t.Fatal(err)
	}
	for _, d := range docs {
		id := d.(bson.D)[0].Value.(string)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := s.Get(ctx, id)
		runtime.ReadMemStats(&after)
		if !errors.Is(err, stores.ErrCorrupt) {
			t.Errorf("%s: %v, want ErrCorrupt", id, err)
		}
		if grew := after.TotalAlloc - before.TotalAlloc; grew > 32<<20 {
			t.Errorf("%s: reading it allocated %d MiB", id, grew>>20)
		}
		if _, err := s.Get(ctx, "good"); err != nil {
			t.Fatalf("after %s, a good entry: %v (a hostile document taken for an outage)", id, err)
		}
	}
}
