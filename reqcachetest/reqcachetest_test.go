package reqcachetest_test

import (
	"fmt"
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

	"github.com/reqcache/reqcache/reqcachetest"
)

func origin(t *testing.T) (*httptest.Server, *atomic.Int64) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"path":%q,"q":%q}`, r.URL.Path, r.URL.Query().Get("q"))
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func get(t *testing.T, c *http.Client, url string) string {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestRecordThenReplayOffline(t *testing.T) {
	srv, hits := origin(t)
	fixture := filepath.Join(t.TempDir(), "testdata", "api.jsonl")
	urls := []string{srv.URL + "/users/1?q=go&api_key=SECRET-KEY", srv.URL + "/users/2"}
	want := map[string]string{}
	t.Run("record", func(t *testing.T) {
		t.Setenv(reqcachetest.RecordEnv, "1")
		c := reqcachetest.Client(t, fixture)
		for _, u := range urls {
			req, _ := http.NewRequest(http.MethodGet, u, nil)
			req.Header.Set("Authorization", "Bearer SECRET-TOKEN")
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			want[u] = string(b)
		}
	})
	data, err := os.ReadFile(fixture)
	if err != nil {
		t.Fatalf("the fixture was not written: %v", err)
	}
	if strings.Contains(string(data), "SECRET") {
		t.Fatalf("the fixture holds a credential:\n%s", data)
	}
	srv.Close() // offline from here: replay must not need the origin
	recorded := hits.Load()
	t.Run("replay", func(t *testing.T) {
		t.Setenv(reqcachetest.RecordEnv, "")
		c := reqcachetest.Client(t, fixture)
		for _, u := range urls {
			if got := get(t, c, u); got != want[u] {
				t.Fatalf("replayed %s: %q, want %q", u, got, want[u])
			}
		}
	})
	if hits.Load() != recorded {
		t.Fatal("replay reached the origin")
	}
}

func TestInstallReplaysThroughTheDefaults(t *testing.T) {
	srv, _ := origin(t)
	fixture := filepath.Join(t.TempDir(), "defaults.jsonl")
	t.Run("record", func(t *testing.T) {
		t.Setenv(reqcachetest.RecordEnv, "1")
		reqcachetest.Install(t, fixture)
		get(t, http.DefaultClient, srv.URL+"/d")
	})
	srv.Close()
	t.Run("replay", func(t *testing.T) {
		t.Setenv(reqcachetest.RecordEnv, "")
		reqcachetest.Install(t, fixture)
		resp, err := http.Get(srv.URL + "/d") // the code under test's own call
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(b), `"/d"`) {
			t.Fatalf("replayed %q", b)
		}
	})
}

// fakeTB records what a test would report.
type fakeTB struct {
	testing.TB // nil: a method not overridden here panics
	mu         sync.Mutex
	errors     []string
	fatal      string
	cleanups   []func()
}

func (f *fakeTB) Helper()             {}
func (f *fakeTB) Name() string        { return "TestSomething" }
func (f *fakeTB) Logf(string, ...any) {}
func (f *fakeTB) Cleanup(fn func())   { f.cleanups = append(f.cleanups, fn) }
func (f *fakeTB) Errorf(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errors = append(f.errors, fmt.Sprintf(format, args...))
}
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.fatal = fmt.Sprintf(format, args...)
	runtime.Goexit()
}
func (f *fakeTB) finish() {
	for i := len(f.cleanups) - 1; i >= 0; i-- {
		f.cleanups[i]()
	}
}

// run calls fn as a test body would be run: Fatalf ends it.
func (f *fakeTB) run(fn func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	<-done
}

func TestReplayMissFailsTheTest(t *testing.T) {
	srv, hits := origin(t)
	fixture := filepath.Join(t.TempDir(), "one.jsonl")
	t.Run("record", func(t *testing.T) {
		t.Setenv(reqcachetest.RecordEnv, "1")
		get(t, reqcachetest.Client(t, fixture), srv.URL+"/known")
	})
	t.Setenv(reqcachetest.RecordEnv, "")
	before := hits.Load()
	ft := &fakeTB{}
	var err error
	ft.run(func() {
		c := reqcachetest.Client(ft, fixture)
		_, err = c.Get(srv.URL + "/unknown")
	})
	ft.finish()
	if err == nil || len(ft.errors) != 1 {
		t.Fatalf("a miss in replay: error %v, test errors %q", err, ft.errors)
	}
	msg := ft.errors[0]
	for _, want := range []string{"GET", "/unknown", "one.jsonl", "REQCACHE_RECORD=1 go test -run '^TestSomething$'"} {
		if !strings.Contains(msg, want) {
			t.Fatalf("the failure %q does not say %q", msg, want)
		}
	}
	if hits.Load() != before {
		t.Fatal("a replay miss reached the network")
	}
}

func TestMissingFixtureFailsWithTheRecordCommand(t *testing.T) {
	t.Setenv(reqcachetest.RecordEnv, "")
	ft := &fakeTB{}
	ft.run(func() { reqcachetest.Client(ft, filepath.Join(t.TempDir(), "absent.jsonl")) })
	ft.finish()
	if !strings.Contains(ft.fatal, "does not exist") || !strings.Contains(ft.fatal, "REQCACHE_RECORD=1") {
		t.Fatalf("Fatalf said %q", ft.fatal)
	}
}

func TestCacheIsOneTestsOwn(t *testing.T) {
	srv, hits := origin(t)
	c := reqcachetest.Cache(t).Client()
	get(t, c, srv.URL+"/x")
	get(t, c, srv.URL+"/x")
	if hits.Load() != 1 {
		t.Fatalf("origin saw %d requests, want 1", hits.Load())
	}
}
