package reqcache_test

import (
	"context"
	"encoding/json"
	"errors"
	"expvar"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/reqcache/reqcache"
	"github.com/reqcache/reqcache/config"
	"github.com/reqcache/reqcache/session"
)

// These tests change http.DefaultTransport and http.DefaultClient: none of
// them runs in parallel.

func countingOrigin(t *testing.T) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		io.WriteString(w, "origin:"+r.URL.Path)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func smallConfig() *config.Config {
	c := config.Default()
	c.Memory.MaxSizeMB = 8
	c.Memory.Shards = 8
	return c
}

func mustUninstall(t *testing.T) {
	t.Helper()
	if err := reqcache.Uninstall(); err != nil {
		t.Fatalf("Uninstall: %v", err)
	}
}

func httpGet(t *testing.T, url string) (string, *http.Response) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b), resp
}

func TestInstallCachesDefaultClient(t *testing.T) {
	srv, n := countingOrigin(t)
	if err := reqcache.Install(reqcache.WithConfig(smallConfig())); err != nil {
		t.Fatal(err)
	}
	defer mustUninstall(t)
	if !reqcache.IsInstalled() || reqcache.Installed() == nil {
		t.Fatal("not installed")
	}
	for i := 0; i < 3; i++ {
		body, _ := httpGet(t, srv.URL+"/x")
		if body != "origin:/x" {
			t.Fatalf("body %q", body)
		}
	}
	// A client built before Install, with no Transport, goes through
	// http.DefaultTransport too.
	c := &http.Client{}
	resp, err := c.Get(srv.URL + "/x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if !session.InfoOf(resp).FromCache {
		t.Fatal("a plain http.Client did not use the cache")
	}
	if got := n.Load(); got != 1 {
		t.Fatalf("origin saw %d requests, want 1", got)
	}
	if l, _ := reqcache.Installed().Cache().Len(context.Background()); l != 1 {
		t.Fatalf("cache holds %d", l)
	}
	if err := reqcache.Clear(context.Background()); err != nil {
		t.Fatal(err)
	}
	httpGet(t, srv.URL+"/x")
	if got := n.Load(); got != 2 {
		t.Fatalf("after Clear origin saw %d requests, want 2", got)
	}
}

func TestUninstallRestoresPointerIdenticalOriginals(t *testing.T) {
	origT, origC := http.DefaultTransport, http.DefaultClient
	if err := reqcache.Install(reqcache.WithConfig(smallConfig())); err != nil {
		t.Fatal(err)
	}
	if http.DefaultTransport == origT || http.DefaultClient == origC {
		t.Fatal("Install did not swap the defaults")
	}
	first := reqcache.Installed()
	if err := reqcache.Install(reqcache.WithConfig(smallConfig())); err != nil {
		t.Fatal(err)
	}
	second := reqcache.Installed()
	if first == second {
		t.Fatal("reinstall kept the old session")
	}
	if second.Upstream() != origT {
		t.Fatal("reinstalled session must forward to the true original transport, not the first session")
	}
	// The replaced session is closed: its requests bypass its store.
	if _, err := first.Store().Len(context.Background()); err == nil {
		t.Fatal("the replaced installation's store is still open")
	}
	mustUninstall(t)
	if http.DefaultTransport != origT || http.DefaultClient != origC {
		t.Fatal("Uninstall did not restore the original values")
	}
	if reqcache.IsInstalled() || reqcache.Installed() != nil {
		t.Fatal("still installed")
	}
	mustUninstall(t) // a no-op
	if n, err := reqcache.Delete(context.Background(), session.Selector{Expired: true}); n != 0 || err != nil {
		t.Fatalf("Delete when not installed: %d %v", n, err)
	}
	if err := reqcache.Clear(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestInstallErrorInstallsNothing(t *testing.T) {
	origT, origC := http.DefaultTransport, http.DefaultClient
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.toml")
	os.WriteFile(bad, []byte("backend = \"memory\"\nexpire_after = \"soon\"\n"), 0o600)
	err := reqcache.Install(reqcache.WithConfigFile(bad))
	if err == nil || !strings.Contains(err.Error(), "bad.toml") || !strings.Contains(err.Error(), ":2") || !strings.Contains(err.Error(), "expire_after") {
		t.Fatalf("want an error naming file, line and key; got %v", err)
	}
	// One convention for every error Install returns: "reqcache: " once,
	// the *config.Error still reachable.
	var cerr *config.Error
	if !strings.HasPrefix(err.Error(), "reqcache: "+bad+":2: expire_after: ") || strings.Count(err.Error(), "reqcache: ") != 1 || !errors.As(err, &cerr) || cerr.Line != 2 {
		t.Fatalf("a config file's error: %q", err)
	}
	t.Setenv(reqcache.ConfigEnv, bad)
	if err := reqcache.Install(); err == nil || !strings.HasPrefix(err.Error(), "reqcache: $"+reqcache.ConfigEnv+": "+bad+":2: ") {
		t.Fatalf("$%s's error: %v", reqcache.ConfigEnv, err)
	}
	if reqcache.IsInstalled() || http.DefaultTransport != origT || http.DefaultClient != origC {
		t.Fatal("a failed Install changed something")
	}
	// With an installation in place, a failed reinstall leaves it alone.
	if err := reqcache.Install(reqcache.WithConfig(smallConfig())); err != nil {
		t.Fatal(err)
	}
	defer mustUninstall(t)
	s := reqcache.Installed()
	if err := reqcache.Install(reqcache.WithConfigFile(filepath.Join(dir, "missing.toml"))); err == nil {
		t.Fatal("missing config file accepted")
	}
	if reqcache.Installed() != s {
		t.Fatal("a failed reinstall replaced the installation")
	}
	bad2 := smallConfig()
	bad2.AllowableMethods = nil
	if err := reqcache.Install(reqcache.WithConfig(bad2)); err == nil || !strings.HasPrefix(err.Error(), "reqcache: allowable_methods: ") {
		t.Fatalf("invalid WithConfig: %v", err)
	}
}

func TestConfigSources(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("reqcache.toml", "expire_after = \"1m\"\n[memory]\nmax_size_mb = 8\nshards = 8\n")
	envFile := write("env.toml", "expire_after = \"2m\"\n[memory]\nmax_size_mb = 8\nshards = 8\n")
	optFile := write("opt.toml", "expire_after = \"3m\"\n[memory]\nmax_size_mb = 8\nshards = 8\n")

	check := func(want time.Duration, opts ...reqcache.Option) {
		t.Helper()
		if err := reqcache.Install(opts...); err != nil {
			t.Fatal(err)
		}
		defer mustUninstall(t)
		if got := reqcache.Installed().Settings().ExpireAfter.Duration(); got != want {
			t.Fatalf("expire_after %v, want %v", got, want)
		}
	}
	check(time.Minute) // ./reqcache.toml
	t.Setenv(reqcache.ConfigEnv, envFile)
	check(2 * time.Minute)
	check(3*time.Minute, reqcache.WithConfigFile(optFile))
	cfg := smallConfig()
	cfg.ExpireAfter = config.After(4 * time.Minute)
	check(4*time.Minute, reqcache.WithConfigFile(optFile), reqcache.WithConfig(cfg))
	t.Setenv(reqcache.ConfigEnv, filepath.Join(dir, "nope.toml"))
	if err := reqcache.Install(); err == nil {
		reqcache.Uninstall()
		t.Fatal("a missing $REQCACHE_CONFIG file must be an error")
	}
}

func TestScopesThroughDefaultClient(t *testing.T) {
	srv, n := countingOrigin(t)
	if err := reqcache.Install(reqcache.WithConfig(smallConfig())); err != nil {
		t.Fatal(err)
	}
	defer mustUninstall(t)
	get := func(ctx context.Context) *http.Response {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/s", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	ctx := context.Background()
	get(reqcache.Disabled(ctx))
	get(reqcache.Disabled(ctx))
	if n.Load() != 2 {
		t.Fatalf("disabled: origin saw %d", n.Load())
	}
	if resp := get(reqcache.OnlyIfCached(ctx)); resp.StatusCode != http.StatusGatewayTimeout {
		t.Fatalf("only-if-cached on empty cache: %d", resp.StatusCode)
	}
	get(reqcache.Enabled(reqcache.Disabled(ctx)))
	if resp := get(reqcache.OnlyIfCached(ctx)); !session.InfoOf(resp).FromCache {
		t.Fatal("Enabled inside Disabled did not store")
	}
	get(reqcache.ForceRefresh(ctx))
	get(reqcache.WithExpireAfter(ctx, config.DoNotCache))
	if n.Load() != 5 {
		t.Fatalf("origin saw %d, want 5", n.Load())
	}
}

func TestInFlightRequestSurvivesUninstall(t *testing.T) {
	release := make(chan struct{})
	arrived := make(chan struct{}, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-release
		io.WriteString(w, "late")
	}))
	defer srv.Close()
	if err := reqcache.Install(reqcache.WithConfig(smallConfig())); err != nil {
		t.Fatal(err)
	}
	client := reqcache.Installed().Client()
	done := make(chan error, 1)
	go func() {
		resp, err := client.Get(srv.URL)
		if err == nil {
			var b []byte
			b, err = io.ReadAll(resp.Body)
			resp.Body.Close()
			if err == nil && string(b) != "late" {
				err = io.ErrUnexpectedEOF
			}
		}
		done <- err
	}()
	<-arrived
	mustUninstall(t) // closes the store under the request
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("in-flight request failed: %v", err)
	}
	// The closed session still answers, through the network.
	resp, err := client.Get(srv.URL)
	if err != nil {
		t.Fatalf("request on a closed session: %v", err)
	}
	resp.Body.Close()
}

func TestInstallUninstallCycleUnderLoad(t *testing.T) {
	srv, _ := countingOrigin(t)
	base := http.DefaultTransport // read once here: net/http's variable is not synchronized
	base.(*http.Transport).CloseIdleConnections()
	baseline := runtime.NumGoroutine()
	var wg sync.WaitGroup
	var failures, sent atomic.Int64
	stop := make(chan struct{})
	clients := make(chan *http.Client, 64)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			c := &http.Client{Transport: base}
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				case nc := <-clients:
					c = nc
				default:
				}
				sent.Add(1)
				resp, err := c.Get(srv.URL + "/load/" + string(rune('a'+i%5)))
				if err != nil {
					failures.Add(1)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}(g)
	}
	for i := 0; i < 20; i++ {
		if err := reqcache.Install(reqcache.WithConfig(smallConfig())); err != nil {
			t.Fatal(err)
		}
		for j := 0; j < 8; j++ {
			select {
			case clients <- reqcache.Installed().Client():
			default:
			}
		}
		time.Sleep(5 * time.Millisecond)
		mustUninstall(t)
	}
	close(stop)
	wg.Wait()
	if f := failures.Load(); f != 0 {
		t.Fatalf("%d of %d requests failed while installing and uninstalling", f, sent.Load())
	}
	t.Logf("%d requests during 20 install/uninstall cycles, 0 failed", sent.Load())
	// Every session's background work ended with its Uninstall.
	base.(*http.Transport).CloseIdleConnections()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > baseline {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines left after Uninstall, baseline %d:\n%s", runtime.NumGoroutine(), baseline, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestPublishExpvarFollowsInstall(t *testing.T) {
	srv, _ := countingOrigin(t)
	reqcache.PublishExpvar("reqcache_test")
	reqcache.PublishExpvar("reqcache_test") // a second call must not panic
	read := func() map[string]int64 {
		var m map[string]int64
		if err := json.Unmarshal([]byte(expvar.Get("reqcache_test").String()), &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	if m := read(); m["hits"] != 0 {
		t.Fatalf("before Install: %v", m)
	}
	if err := reqcache.Install(reqcache.WithConfig(smallConfig())); err != nil {
		t.Fatal(err)
	}
	defer mustUninstall(t)
	for range 3 {
		resp, err := http.Get(srv.URL + "/expvar")
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	if m := read(); m["hits"] != 2 || m["misses"] != 1 {
		t.Fatalf("after 3 requests: %v", m)
	}
}

// A short-lived program keeps its cache in a snapshot file: the next
// installation answers from it.
func TestMemorySnapshotAcrossInstallations(t *testing.T) {
	srv, n := countingOrigin(t)
	cfg := smallConfig()
	cfg.Memory.Snapshot = filepath.Join(t.TempDir(), "reqcache.snapshot")
	cfg.SeparateCredentials = true
	for run := 0; run < 3; run++ {
		if err := reqcache.Install(reqcache.WithConfig(cfg)); err != nil {
			t.Fatal(err)
		}
		body, resp := httpGet(t, srv.URL+"/run?api_key=k1")
		if body != "origin:/run" || session.InfoOf(resp).FromCache != (run > 0) {
			t.Fatalf("run %d: %q from cache %v", run, body, session.InfoOf(resp).FromCache)
		}
		mustUninstall(t)
	}
	if n.Load() != 1 {
		t.Fatalf("origin saw %d requests over three runs, want 1", n.Load())
	}
	info, err := os.Stat(cfg.Memory.Snapshot)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("snapshot: %v, mode %v", err, info.Mode().Perm())
	}
}

// Install takes every session option (requests-cache's install_cache takes
// every CachedSession parameter): here filter_fn, which keeps /private out
// of the cache while the rest is stored.
func TestInstallTakesSessionOptions(t *testing.T) {
	srv, n := countingOrigin(t)
	filter := session.WithFilter(func(resp *http.Response) bool { return resp.Request.URL.Path != "/private" })
	if err := reqcache.Install(reqcache.WithConfig(smallConfig()), reqcache.WithSessionOptions(filter)); err != nil {
		t.Fatal(err)
	}
	defer mustUninstall(t)
	for range 2 {
		httpGet(t, srv.URL+"/private")
		httpGet(t, srv.URL+"/public")
	}
	if got := n.Load(); got != 3 {
		t.Fatalf("origin saw %d requests, want 3 (/private twice, /public once)", got)
	}
	if urls, _ := reqcache.Installed().Cache().URLs(context.Background()); len(urls) != 1 || !strings.HasSuffix(urls[0], "/public") {
		t.Fatalf("stored %v, want /public alone", urls)
	}
}

// Bad key material for [encryption] fails Install, naming the key, and
// installs nothing: a key that does not load is never silently "no
// sealing".
func TestInstallRefusesBadKeys(t *testing.T) {
	origT := http.DefaultTransport
	t.Setenv("RC_TEST_KEYS", "bm90IDMyIGJ5dGVz") // "not 32 bytes"
	cfg := smallConfig()
	cfg.Encryption.KeyEnv = "RC_TEST_KEYS"
	err := reqcache.Install(reqcache.WithConfig(cfg))
	if err == nil || !strings.HasPrefix(err.Error(), "reqcache: encryption.key_env: $RC_TEST_KEYS: key 1 is 12 bytes, want 32") {
		t.Fatalf("Install with a short key: %v", err)
	}
	if reqcache.IsInstalled() || http.DefaultTransport != origT {
		t.Fatal("a failed Install changed something")
	}
}
