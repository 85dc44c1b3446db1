package reqcache_test

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	mongodriver "go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/reqcache/reqcache"
	"github.com/reqcache/reqcache/config"
	"github.com/reqcache/reqcache/internal/mongotest"
	"github.com/reqcache/reqcache/session"
)

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		os.Exit(runChild())
	}
	if os.Getenv(fleetChildEnv) != "" {
		os.Exit(runFleetChild())
	}
	flag.Parse()
	measureBaselines()
	mongotest.Main(m)
}

func mongoConfig(t *testing.T, uri, backend string) *config.Config {
	c := smallConfig()
	c.Backend = backend
	c.Mongo.URI = uri
	c.Mongo.Database = "reqcache_test"
	c.Mongo.Collection = mongotest.Name(t)
	c.Mongo.ConnectTimeout = config.Duration(10 * time.Second)
	c.Mongo.OpTimeout = config.Duration(time.Second)
	return c
}

func TestMongoPersistsAcrossReinstall(t *testing.T) {
	for _, backend := range []string{config.BackendMongo, config.BackendTiered} {
		t.Run(backend, func(t *testing.T) {
			srv, n := countingOrigin(t)
			cfg := mongoConfig(t, mongotest.URI(t), backend)
			for i := 0; i < 3; i++ {
				if err := reqcache.Install(reqcache.WithConfig(cfg)); err != nil {
					t.Fatal(err)
				}
				body, resp := httpGet(t, srv.URL+"/persist?api_key=secret-value")
				if body != "origin:/persist" || (i > 0) != session.InfoOf(resp).FromCache {
					t.Fatalf("round %d: %q %+v", i, body, session.InfoOf(resp))
				}
				mustUninstall(t)
			}
			if n.Load() != 1 {
				t.Fatalf("origin saw %d requests across three installations, want 1", n.Load())
			}
			assertNoSecretStored(t, cfg, "secret-value")
		})
	}
}

// The child process: fetch one URL through a mongo-backed installation and
// print whether it came from the cache.
const childEnv = "REQCACHE_TEST_CHILD"

func runChild() int {
	cfg := config.Default()
	cfg.Backend = config.BackendMongo
	cfg.Mongo.URI = os.Getenv("CHILD_MONGO_URI")
	cfg.Mongo.Database = "reqcache_test"
	cfg.Mongo.Collection = os.Getenv("CHILD_COLLECTION")
	cfg.Memory.MaxSizeMB, cfg.Memory.Shards = 8, 8
	if err := reqcache.Install(reqcache.WithConfig(cfg)); err != nil {
		fmt.Println("install:", err)
		return 1
	}
	defer reqcache.Uninstall()
	req, _ := http.NewRequest(http.MethodGet, os.Getenv("CHILD_URL"), nil)
	req.Header.Set("Authorization", "Bearer shared-user")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Println("get:", err)
		return 1
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Printf("from_cache=%v body=%s\n", session.InfoOf(resp).FromCache, body)
	return 0
}

func TestTwoProcessesShareEntries(t *testing.T) {
	uri := mongotest.URI(t)
	srv, n := countingOrigin(t)
	collection := mongotest.Name(t)
	run := func() string {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), childEnv+"=1", "CHILD_MONGO_URI="+uri,
			"CHILD_COLLECTION="+collection, "CHILD_URL="+srv.URL+"/shared")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("child: %v\n%s", err, out)
		}
		return strings.TrimSpace(string(out))
	}
	if got := run(); got != "from_cache=false body=origin:/shared" {
		t.Fatalf("first process: %s", got)
	}
	// A second OS process, with the same credentials, is answered from
	// what the first stored (the credential key lives in the store).
	if got := run(); got != "from_cache=true body=origin:/shared" {
		t.Fatalf("second process: %s", got)
	}
	if n.Load() != 1 {
		t.Fatalf("origin saw %d requests", n.Load())
	}
}

func TestMongoOutageUnderLoad(t *testing.T) {
	srv := mongotest.Private(t)
	var originHits atomic.Int64
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		originHits.Add(1)
		io.WriteString(w, "v:"+r.URL.Path)
	}))
	defer origin.Close()
	cfg := mongoConfig(t, srv.URI, config.BackendMongo)
	if err := reqcache.Install(reqcache.WithConfig(cfg)); err != nil {
		t.Fatal(err)
	}
	defer mustUninstall(t)
	client := reqcache.Installed().Client()

	var sent, failed atomic.Int64
	load := func(stop <-chan struct{}) *sync.WaitGroup {
		var wg sync.WaitGroup
		for g := 0; g < 8; g++ {
			wg.Add(1)
			go func(g int) {
				defer wg.Done()
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					path := fmt.Sprintf("/item/%d", (g*7+i)%20)
					resp, err := client.Get(origin.URL + path)
					sent.Add(1)
					if err != nil {
						failed.Add(1)
						continue
					}
					b, err := io.ReadAll(resp.Body)
					resp.Body.Close()
					if err != nil || string(b) != "v:"+path {
						failed.Add(1)
					}
				}
			}(g)
		}
		return &wg
	}
	stop := make(chan struct{})
	wg := load(stop)
	time.Sleep(300 * time.Millisecond)
	srv.Stop() // MongoDB goes away under load
	time.Sleep(1500 * time.Millisecond)
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	close(stop)
	wg.Wait()
	if failed.Load() != 0 {
		t.Fatalf("%d of %d requests failed during the outage", failed.Load(), sent.Load())
	}
	if reqcache.Installed().Stats().StoreErrors == 0 {
		t.Fatal("the outage was not noticed")
	}
	// Caching resumes by itself once the server is back.
	deadline := time.Now().Add(20 * time.Second)
	for {
		u := origin.URL + "/after-restart"
		client.Get(u)
		resp, err := client.Get(u)
		if err == nil {
			resp.Body.Close()
			if session.InfoOf(resp).FromCache {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("caching did not resume after the restart")
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("outage: %d requests, %d failed, %d reached the origin", sent.Load(), failed.Load(), originHits.Load())
}

// assertNoSecretStored reads every document of the collection as the
// server holds it and fails when secret appears anywhere.
func assertNoSecretStored(t *testing.T, cfg *config.Config, secret string) {
	t.Helper()
	ctx := context.Background()
	client, err := mongodriver.Connect(options.Client().ApplyURI(cfg.Mongo.URI))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Disconnect(ctx)
	db := client.Database(cfg.Mongo.Database)
	for _, coll := range []string{cfg.Mongo.Collection, cfg.Mongo.Collection + "_aliases"} {
		cur, err := db.Collection(coll).Find(ctx, bson.D{})
		if err != nil {
			t.Fatal(err)
		}
		docs := 0
		for cur.Next(ctx) {
			docs++
			if strings.Contains(cur.Current.String(), secret) {
				t.Fatalf("%s holds the secret in the clear: %s", coll, cur.Current)
			}
		}
		cur.Close(ctx)
		if coll == cfg.Mongo.Collection && docs == 0 {
			t.Fatal("nothing stored: the check would prove nothing")
		}
	}
}

// BenchmarkBackendHit is a cache hit through http.DefaultClient on each
// backend, in one run: memory, tiered (served by its memory tier) and
// mongo (every hit a round trip to the server).
// BenchmarkBackendHit compares hits of the three backends in one run: the
// tiered hit against the memory hit (x-memory: its front answers), and the
// MongoDB hit against a bare driver FindOne of the same document on the
// same server (mongo-findone's x-findone: what reqcache adds to the round
// trip; goal 1.3 at most).
func BenchmarkBackendHit(b *testing.B) {
	srv := benchOrigin(b, body1K)
	url := srv.URL + "/v1/items?id=42"
	perOp := map[string]float64{}
	var mongoCfg config.Mongo
	var mongoKey string
	for _, backend := range []string{config.BackendMemory, config.BackendTiered, config.BackendMongo} {
		b.Run(backend, func(b *testing.B) {
			cfg := smallConfig()
			cfg.Backend = backend
			if backend != config.BackendMemory {
				cfg.Mongo.URI = mongotest.URI(b)
				cfg.Mongo.Database = "reqcache_bench"
				cfg.Mongo.Collection = mongotest.Name(b)
			}
			if err := reqcache.Install(reqcache.WithConfig(cfg)); err != nil {
				b.Fatal(err)
			}
			defer reqcache.Uninstall()
			resp, err := http.Get(url)
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			mongoCfg, mongoKey = cfg.Mongo, session.InfoOf(resp).Key
			b.ReportAllocs()
			for b.Loop() {
				getAll(b, http.DefaultClient, url)
			}
			reportRatio(b, baselines.floor, "x-floor", false)
			perOp[backend] = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
			if backend == config.BackendTiered {
				reportRatio(b, perOp[config.BackendMemory], "x-memory", false)
			}
			if st := reqcache.Installed().Stats(); st.Misses != 1 {
				b.Fatalf("%d misses: the loop did not hit", st.Misses)
			}
		})
	}
	b.Run("mongo-findone", func(b *testing.B) {
		client, err := mongodriver.Connect(options.Client().ApplyURI(mongoCfg.URI))
		if err != nil {
			b.Fatal(err)
		}
		defer client.Disconnect(context.Background())
		coll := client.Database(mongoCfg.Database).Collection(mongoCfg.Collection)
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			var doc bson.Raw
			if err := coll.FindOne(ctx, bson.D{{Key: "_id", Value: mongoKey}}).Decode(&doc); err != nil {
				b.Fatal(err)
			}
		}
		findOne := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
		if findOne > 0 && perOp[config.BackendMongo] > 0 {
			b.ReportMetric(perOp[config.BackendMongo]/findOne, "x-findone")
		}
	})
}

// BenchmarkMongoMissLease is what the fleet lease costs a cold miss that
// no other process shares: taking and releasing the lease are two more
// round trips to the server (lease: x-off against lease = 0 in one run).
func BenchmarkMongoMissLease(b *testing.B) {
	srv := benchOrigin(b, body1K)
	perOp := map[string]float64{}
	for _, mode := range []string{"off", "lease"} {
		b.Run(mode, func(b *testing.B) {
			cfg := smallConfig()
			cfg.Backend = config.BackendMongo
			cfg.Mongo.URI = mongotest.URI(b)
			cfg.Mongo.Database = "reqcache_bench"
			cfg.Mongo.Collection = mongotest.Name(b)
			if mode == "off" {
				cfg.Mongo.Lease = 0
			}
			if err := reqcache.Install(reqcache.WithConfig(cfg)); err != nil {
				b.Fatal(err)
			}
			defer reqcache.Uninstall()
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				i++
				getAll(b, http.DefaultClient, srv.URL+"/miss?i="+strconv.Itoa(i))
			}
			perOp[mode] = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
			if mode == "lease" && perOp["off"] > 0 {
				b.ReportMetric(perOp["lease"]/perOp["off"], "x-off")
			}
			if st := reqcache.Installed().Stats(); st.Misses != int64(i) {
				b.Fatalf("%d misses for %d requests", st.Misses, i)
			}
		})
	}
}

// A cache moves between backends through Export and Import (requests-cache's
// BaseCache.update()): from memory into MongoDB, then answered from there.
func TestExportFromMemoryImportIntoMongo(t *testing.T) {
	srv, n := countingOrigin(t)
	mem, err := session.New(smallConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/moved?b=2&a=1", nil)
	resp, err := mem.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	var buf strings.Builder
	if n, err := mem.Cache().Export(context.Background(), &buf, session.Filter{}); err != nil || n != 1 {
		t.Fatalf("Export = %d, %v", n, err)
	}

	cfg := mongoConfig(t, mongotest.URI(t), config.BackendMongo)
	if err := reqcache.Install(reqcache.WithConfig(cfg)); err != nil {
		t.Fatal(err)
	}
	defer mustUninstall(t)
	if n, err := reqcache.Installed().Cache().Import(context.Background(), strings.NewReader(buf.String())); err != nil || n != 1 {
		t.Fatalf("Import into mongo = %d, %v", n, err)
	}
	body, got := httpGet(t, srv.URL+"/moved?a=1&b=2")
	if body != "origin:/moved" || !session.InfoOf(got).FromCache {
		t.Fatalf("after import into mongo: %q from cache %v", body, session.InfoOf(got).FromCache)
	}
	if n.Load() != 1 {
		t.Fatalf("origin saw %d requests, want 1", n.Load())
	}
}
