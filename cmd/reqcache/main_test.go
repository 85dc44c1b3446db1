package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/reqcache/reqcache/config"
	"github.com/reqcache/reqcache/internal/mongotest"
	"github.com/reqcache/reqcache/session"
	"github.com/reqcache/reqcache/stores/backend"
)

func TestMain(m *testing.M) { mongotest.Main(m) }

// fixture is a MongoDB-backed cache populated through a session, as a
// program using the library would leave it, and the TOML file describing it.
type fixture struct {
	config     string
	a, b       *httptest.Server
	aHits      atomic.Int64
	freshKey   string
	expiredKey string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{}
	handler := func(hits *atomic.Int64) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if hits != nil {
				hits.Add(1)
			}
			switch r.URL.Path {
			case "/stale":
				w.Header().Set("Cache-Control", "max-age=0")
				w.Header().Set("ETag", `"s"`)
			case "/binary":
				w.Header().Set("Cache-Control", "max-age=3600")
				w.Write([]byte{0, 1, 2, 0xff})
				return
			default:
				w.Header().Set("Cache-Control", "max-age=3600")
			}
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"path":%q,"padding":%q}`, r.URL.Path, strings.Repeat("p", 600))
		}
	}
	f.a = httptest.NewServer(handler(&f.aHits))
	f.b = httptest.NewServer(handler(nil))
	t.Cleanup(f.a.Close)
	t.Cleanup(f.b.Close)

	f.config = filepath.Join(t.TempDir(), "reqcache.toml")
	toml := fmt.Sprintf(`backend = "mongo"
cache_control = true

[mongo]
uri = %q
database = "reqcache_cmd_test"
collection = %q
connect_timeout = "10s"
op_timeout = "5s"
`, mongotest.URI(t), mongotest.Name(t))
	if err := os.WriteFile(f.config, []byte(toml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(f.config)
	if err != nil {
		t.Fatal(err)
	}
	st, err := backend.Open(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	sess, err := session.New(cfg, session.WithStore(st))
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	c := sess.Client()
	for _, u := range []string{f.a.URL + "/users/1", f.a.URL + "/users/2", f.a.URL + "/stale", f.b.URL + "/binary?api_key=secret"} {
		resp, err := c.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		info := session.InfoOf(resp)
		if !info.Stored {
			t.Fatalf("%s was not stored: %+v", u, info)
		}
		switch {
		case strings.HasSuffix(u, "/users/1"):
			f.freshKey = info.Key
		case strings.HasSuffix(u, "/stale"):
			f.expiredKey = info.Key
		}
	}
	return f
}

// cli runs the command and returns its exit code and output.
func cli(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestStatsAndLs(t *testing.T) {
	f := newFixture(t)
	code, out, stderr := cli(t, "", "-config", f.config, "stats")
	if code != exitOK || tableValue(out, "entries") != "4" || tableValue(out, "expired") != "1" || tableValue(out, "backend") != "mongo" {
		t.Fatalf("stats: exit %d\n%s%s", code, out, stderr)
	}
	code, out, _ = cli(t, "", "stats", "-json", "-config", f.config)
	var st struct {
		Backend                 string
		Entries, Expired, Fresh int
		Bytes                   int64
		Hosts                   map[string]int
	}
	if code != exitOK || json.Unmarshal([]byte(out), &st) != nil {
		t.Fatalf("stats -json: exit %d, %q", code, out)
	}
	hostA := strings.TrimPrefix(f.a.URL, "http://")
	if st.Backend != "mongo" || st.Entries != 4 || st.Expired != 1 || st.Fresh != 3 || st.Bytes < 2000 || st.Hosts[hostA] != 3 || len(st.Hosts) != 2 {
		t.Fatalf("stats -json = %+v", st)
	}

	code, out, _ = cli(t, "", "-config", f.config, "-json", "ls", "-host", hostA)
	var rows []row
	if code != exitOK || json.Unmarshal([]byte(out), &rows) != nil || len(rows) != 3 {
		t.Fatalf("ls -host: exit %d, %s", code, out)
	}
	for i, r := range rows {
		if r.Method != "GET" || r.Status != 200 || r.Size == 0 || r.CreatedAt.IsZero() || len(r.Key) != 32 {
			t.Fatalf("row %d = %+v", i, r)
		}
		if i > 0 && rows[i-1].URL > r.URL {
			t.Fatalf("ls not sorted by URL: %q before %q", rows[i-1].URL, r.URL)
		}
	}
	code, out, _ = cli(t, "", "-config", f.config, "-json", "ls", "-expired")
	if code != exitOK || json.Unmarshal([]byte(out), &rows) != nil || len(rows) != 1 || !strings.HasSuffix(rows[0].URL, "/stale") || !rows[0].Expired {
		t.Fatalf("ls -expired: exit %d, %s", code, out)
	}
	code, out, _ = cli(t, "", "-config", f.config, "ls")
	if code != exitOK || !strings.Contains(out, "KEY") || !strings.Contains(out, "(expired)") || !strings.Contains(out, "api_key=REDACTED") || strings.Contains(out, "secret") {
		t.Fatalf("ls table: exit %d\n%s", code, out)
	}
}

func TestShow(t *testing.T) {
	f := newFixture(t)
	code, out, _ := cli(t, "", "-config", f.config, "show", f.freshKey[:8])
	if code != exitOK || !strings.Contains(out, "Content-Type: application/json") || !strings.Contains(out, `{"path":"/users/1"`) {
		t.Fatalf("show by key prefix: exit %d\n%s", code, out)
	}
	code, out, _ = cli(t, "", "-config", f.config, "show", "-body-bytes", "10", f.a.URL+"/users/2")
	if code != exitOK || !strings.Contains(out, `{"path":"/`) || !strings.Contains(out, "(10 of ") {
		t.Fatalf("show by URL with a short preview: exit %d\n%s", code, out)
	}
	code, out, _ = cli(t, "", "-config", f.config, "show", f.b.URL+"/binary?api_key=other")
	if code != exitOK || !strings.Contains(out, "(4 bytes binary)") {
		t.Fatalf("show binary (matched with another api_key: it is ignored): exit %d\n%s", code, out)
	}
	code, out, _ = cli(t, "", "-config", f.config, "-json", "show", f.freshKey)
	var shown []struct {
		Key         string
		Header      http.Header
		BodyPreview string `json:"body_preview"`
		BodyBytes   int    `json:"body_bytes"`
	}
	if code != exitOK || json.Unmarshal([]byte(out), &shown) != nil || len(shown) != 1 || shown[0].Key != f.freshKey || shown[0].Header.Get("Cache-Control") != "max-age=3600" || shown[0].BodyBytes < 600 {
		t.Fatalf("show -json: exit %d\n%s", code, out)
	}
	if code, _, stderr := cli(t, "", "-config", f.config, "show", "ffffffffffff"); code != exitNotFound || !strings.Contains(stderr, "no stored response") {
		t.Fatalf("show of a missing key: exit %d, %q", code, stderr)
	}
	if code, _, _ := cli(t, "", "-config", f.config, "show", "abc"); code != exitUsage {
		t.Fatalf("show with a 3-character key: exit %d, want usage", code)
	}
}

func TestRmAndClear(t *testing.T) {
	f := newFixture(t)
	code, out, _ := cli(t, "", "-config", f.config, "rm", "-expired")
	if code != exitOK || !strings.Contains(out, "removed 1 ") {
		t.Fatalf("rm -expired: exit %d, %q", code, out)
	}
	if code, _, _ := cli(t, "", "-config", f.config, "show", f.expiredKey); code != exitNotFound {
		t.Fatalf("the expired entry survived rm -expired (show exit %d)", code)
	}
	if code, out, _ := cli(t, "", "-config", f.config, "-json", "rm", "-url", f.a.URL+"/users/2", f.freshKey); code != exitOK || !strings.Contains(out, `"removed": 2`) {
		t.Fatalf("rm by URL and key: exit %d, %q", code, out)
	}
	if code, _, _ := cli(t, "", "-config", f.config, "rm", "-url", f.a.URL+"/users/2"); code != exitNotFound {
		t.Fatalf("rm of nothing: exit %d, want %d", code, exitNotFound)
	}
	if code, _, _ := cli(t, "", "-config", f.config, "rm"); code != exitUsage {
		t.Fatalf("rm without a selection: exit %d, want usage", code)
	}

	code, out, stderr := cli(t, "n\n", "-config", f.config, "clear")
	if code != exitError || !strings.Contains(out, "Delete all 1 cached responses") || !strings.Contains(stderr, "not confirmed") {
		t.Fatalf("clear answered n: exit %d, %q %q", code, out, stderr)
	}
	if code, _, _ := cli(t, "", "-config", f.config, "clear"); code != exitError {
		t.Fatalf("clear with no answer (a script without -yes): exit %d", code)
	}
	if _, out, _ := cli(t, "", "-config", f.config, "-json", "stats"); !strings.Contains(out, `"entries": 1`) {
		t.Fatalf("clear deleted without confirmation: %s", out)
	}
	if code, out, _ := cli(t, "y\n", "-config", f.config, "clear"); code != exitOK || !strings.Contains(out, "removed 1 ") {
		t.Fatalf("clear answered y: exit %d, %q", code, out)
	}
	if _, out, _ := cli(t, "", "-config", f.config, "-json", "stats"); !strings.Contains(out, `"entries": 0`) {
		t.Fatalf("after clear: %s", out)
	}
}

func TestGetGoesThroughTheCache(t *testing.T) {
	f := newFixture(t)
	before := f.aHits.Load()
	code, out, _ := cli(t, "", "-config", f.config, "get", f.a.URL+"/users/1")
	if code != exitOK || !strings.Contains(out, "200 OK") || !strings.Contains(out, "Cache-Status: reqcache; hit") {
		t.Fatalf("get of a stored URL: exit %d\n%s", code, out)
	}
	code, out, _ = cli(t, "", "-config", f.config, "-json", "get", "-body", f.a.URL+"/users/9")
	var got struct {
		Status      int
		CacheStatus string `json:"cache_status"`
		FromCache   bool   `json:"from_cache"`
		Body        string
	}
	if code != exitOK || json.Unmarshal([]byte(out), &got) != nil || got.Status != 200 || got.FromCache || !strings.Contains(got.CacheStatus, "fwd=uri-miss") || !strings.Contains(got.Body, "/users/9") {
		t.Fatalf("get of a new URL: exit %d\n%s", code, out)
	}
	if code, out, _ := cli(t, "", "-config", f.config, "get", "-v", f.a.URL+"/users/9"); code != exitOK || !strings.Contains(out, "hit") || !strings.Contains(out, "Content-Type: application/json") {
		t.Fatalf("second get: exit %d\n%s", code, out)
	}
	if n := f.aHits.Load() - before; n != 1 {
		t.Fatalf("the origin saw %d requests for three gets, want 1", n)
	}
	if code, _, _ := cli(t, "", "-config", f.config, "get", "ftp://x"); code != exitUsage {
		t.Fatalf("get ftp://: exit %d, want usage", code)
	}
}

func TestErrorsAndUsage(t *testing.T) {
	if code, out, _ := cli(t, "", "-h"); code != exitOK || !strings.Contains(out, "Exit codes") {
		t.Fatalf("-h: exit %d", code)
	}
	for _, name := range []string{"stats", "ls", "show", "rm", "clear", "get"} {
		if _, out, _ := cli(t, "", "help"); !strings.Contains(out, "\n  "+name+" ") {
			t.Fatalf("help does not document %s", name)
		}
	}
	if code, _, stderr := cli(t, ""); code != exitUsage || !strings.Contains(stderr, "Usage") {
		t.Fatalf("no command: exit %d", code)
	}
	if code, _, stderr := cli(t, "", "frobnicate"); code != exitUsage || !strings.Contains(stderr, `unknown command "frobnicate"`) {
		t.Fatalf("unknown command: exit %d %q", code, stderr)
	}
	if code, _, stderr := cli(t, "", "ls", "-bogus"); code != exitUsage || !strings.Contains(stderr, "-bogus") {
		t.Fatalf("bad flag: exit %d %q", code, stderr)
	}
	if code, _, _ := cli(t, "", "stats", "extra"); code != exitUsage {
		t.Fatalf("extra argument: exit %d", code)
	}

	bad := filepath.Join(t.TempDir(), "bad.toml")
	os.WriteFile(bad, []byte("backend = \"memory\"\nexpire_after = \"forever\"\n"), 0o600)
	code, _, stderr := cli(t, "", "-config", bad, "stats")
	if code != exitError || !strings.Contains(stderr, "bad.toml:2") || !strings.Contains(stderr, "expire_after") {
		t.Fatalf("bad config: exit %d %q", code, stderr)
	}
	// An unreachable MongoDB is an error naming the host, never the password.
	down := filepath.Join(t.TempDir(), "down.toml")
	os.WriteFile(down, []byte("backend = \"mongo\"\n[mongo]\nuri = \"mongodb://user:hunter2@127.0.0.1:1/\"\nconnect_timeout = \"300ms\"\n"), 0o600)
	code, _, stderr = cli(t, "", "-config", down, "stats")
	if code != exitError || strings.Contains(stderr, "hunter2") {
		t.Fatalf("unreachable store: exit %d %q", code, stderr)
	}
	// $REQCACHE_CONFIG is read when -config is absent.
	t.Setenv("REQCACHE_CONFIG", bad)
	if code, _, stderr := cli(t, "", "stats"); code != exitError || !strings.Contains(stderr, "bad.toml") {
		t.Fatalf("$REQCACHE_CONFIG not used: exit %d %q", code, stderr)
	}
}

func TestMemoryBackendSaysItIsEmpty(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir) // no ./reqcache.toml: the built-in defaults
	code, out, stderr := cli(t, "", "stats")
	if code != exitOK || tableValue(out, "entries") != "0" || !strings.Contains(stderr, "lives inside one process") {
		t.Fatalf("stats on the defaults: exit %d %q %q", code, out, stderr)
	}
}

// tableValue is the value on the line of a two-column table starting with
// name.
func tableValue(out, name string) string {
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == name {
			return f[1]
		}
	}
	return ""
}
