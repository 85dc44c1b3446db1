package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/reqcache/reqcache/config"
	"github.com/reqcache/reqcache/internal/mongotest"
	"github.com/reqcache/reqcache/session"
	"github.com/reqcache/reqcache/stores/backend"
	"github.com/reqcache/reqcache/stores/memory"
	"github.com/reqcache/reqcache/stores/storetest"
)

func TestMain(m *testing.M) { mongotest.Main(m) }

// fixture is a MongoDB-backed cache filled through a session from two
// origins, as a program using the library would leave it, and the TOML file
// describing it. It holds seven responses:
//
//	a /users/1, /users/2     fresh (max-age=3600)
//	a /stale                 expired (max-age=0, with an ETag so it is kept)
//	a /vary  ×2              fresh, two Vary: Accept variants of one URL
//	b /binary?api_key=…      fresh, a binary body, the api_key REDACTED
//	b /plain                 no Cache-Control: never expires
type fixture struct {
	config     string
	cfg        *config.Config
	a, b       *httptest.Server
	aHits      atomic.Int64
	keys       map[string]string // path → key
	hostA      string
	hostB      string
	entries    int
	expiredKey string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{keys: map[string]string{}}
	handler := func(hits *atomic.Int64) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if hits != nil {
				hits.Add(1)
			}
			h := w.Header()
			switch r.URL.Path {
			case "/stale":
				h.Set("Cache-Control", "max-age=0")
				h.Set("ETag", `"s"`)
			case "/binary":
				h.Set("Cache-Control", "max-age=3600")
				h.Set("Content-Type", "application/octet-stream")
				w.Write([]byte{0, 1, 2, 0xff})
				return
			case "/plain":
				h.Set("Content-Type", "text/plain")
				fmt.Fprint(w, "plain text")
				return
			case "/vary":
				h.Set("Cache-Control", "max-age=3600")
				h.Set("Vary", "Accept")
			case "/down":
				http.Error(w, "down", http.StatusServiceUnavailable)
				return
			default:
				h.Set("Cache-Control", "max-age=3600")
			}
			h.Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"path":%q,"accept":%q,"padding":%q}`, r.URL.Path, r.Header.Get("Accept"), strings.Repeat("p", 600))
		}
	}
	f.a = httptest.NewServer(handler(&f.aHits))
	f.b = httptest.NewServer(handler(nil))
	t.Cleanup(f.a.Close)
	t.Cleanup(f.b.Close)
	f.hostA = strings.TrimPrefix(f.a.URL, "http://")
	f.hostB = strings.TrimPrefix(f.b.URL, "http://")

	f.config = writeConfig(t, "reqcache.toml", fmt.Sprintf(`backend = "mongo"
cache_control = true

[mongo]
uri = %q
database = "reqcache_cmd_test"
collection = %q
connect_timeout = "10s"
op_timeout = "5s"
`, mongotest.URI(t), mongotest.Name(t)))
	cfg, err := config.Load(f.config)
	if err != nil {
		t.Fatal(err)
	}
	f.cfg = cfg
	sess := openSession(t, cfg)
	defer sess.Close()
	fetch := func(u, accept string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		resp, err := sess.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		info := session.InfoOf(resp)
		if !info.Stored {
			t.Fatalf("%s (Accept %q) was not stored: %+v", u, accept, info)
		}
		f.keys[strings.SplitN(strings.TrimPrefix(u, "http://"), "/", 2)[1]+" "+accept] = info.Key
		f.entries++
	}
	fetch(f.a.URL+"/users/1", "")
	fetch(f.a.URL+"/users/2", "")
	fetch(f.a.URL+"/stale", "")
	fetch(f.a.URL+"/vary", "application/json")
	fetch(f.a.URL+"/vary", "text/plain")
	fetch(f.b.URL+"/binary?api_key=secret", "")
	fetch(f.b.URL+"/plain", "")
	f.expiredKey = f.keys["stale "]
	return f
}

func writeConfig(t *testing.T, name, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// cli runs the command as a shell would, with stdin as given.
func cli(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

// mustJSON decodes a command's JSON output into v, rejecting fields v does
// not declare: the shapes are a contract.
func mustJSON(t *testing.T, out string, v any) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("decoding %T: %v\n%s", v, err, out)
	}
}

type statsJSON struct {
	Backend string         `json:"backend"`
	Entries int            `json:"entries"`
	Bytes   int64          `json:"bytes"`
	Expired int            `json:"expired"`
	Fresh   int            `json:"fresh"`
	Hosts   map[string]int `json:"hosts"`
}

type rowJSON struct {
	Key       string    `json:"key"`
	URL       string    `json:"url"`
	Method    string    `json:"method"`
	Status    int       `json:"status"`
	Size      int       `json:"size"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt *string   `json:"expires_at"`
	Expired   bool      `json:"expired"`
}

type showJSON struct {
	rowJSON
	Header        http.Header `json:"header"`
	RequestHeader http.Header `json:"request_header"`
	BodyBytes     int         `json:"body_bytes"`
	BodyPreview   string      `json:"body_preview"`
	BodyBinary    bool        `json:"body_binary"`
}

func (f *fixture) stats(t *testing.T) statsJSON {
	t.Helper()
	code, out, stderr := cli(t, "", "-config", f.config, "-json", "stats")
	if code != exitOK {
		t.Fatalf("stats -json: exit %d: %s", code, stderr)
	}
	var st statsJSON
	mustJSON(t, out, &st)
	return st
}

func TestStats(t *testing.T) {
	f := newFixture(t)
	code, out, stderr := cli(t, "", "-config", f.config, "stats")
	if code != exitOK || stderr != "" {
		t.Fatalf("stats: exit %d, stderr %q", code, stderr)
	}
	for name, want := range map[string]string{"entries": "7", "fresh": "6", "expired": "1", "host " + f.hostA: "5", "host " + f.hostB: "2"} {
		if got := tableValue(out, name); got != want {
			t.Errorf("stats %s = %q, want %q\n%s", name, got, want, out)
		}
	}
	if !strings.Contains(out, "mongo mongodb://") || !strings.Contains(out, f.config) {
		t.Errorf("stats does not say which store and config:\n%s", out)
	}

	// The global flags may follow the command name too.
	code, out, _ = cli(t, "", "stats", "-json", "-config", f.config)
	var st statsJSON
	mustJSON(t, out, &st)
	want := statsJSON{Backend: "mongo", Entries: 7, Expired: 1, Fresh: 6, Hosts: map[string]int{f.hostA: 5, f.hostB: 2}}
	if code != exitOK || st.Bytes < 3*600 || st.Backend != want.Backend || st.Entries != want.Entries ||
		st.Expired != want.Expired || st.Fresh != want.Fresh || fmt.Sprint(st.Hosts) != fmt.Sprint(want.Hosts) {
		t.Fatalf("stats -json = %+v, want %+v", st, want)
	}
}

func TestLs(t *testing.T) {
	f := newFixture(t)
	ls := func(args ...string) []rowJSON {
		t.Helper()
		code, out, stderr := cli(t, "", append([]string{"-config", f.config, "-json", "ls"}, args...)...)
		if code != exitOK {
			t.Fatalf("ls %v: exit %d: %s", args, code, stderr)
		}
		var rows []rowJSON
		mustJSON(t, out, &rows)
		return rows
	}
	rows := ls()
	if len(rows) != 7 {
		t.Fatalf("ls: %d rows, want 7", len(rows))
	}
	keys := map[string]bool{}
	for i, r := range rows {
		keys[r.Key] = true
		if r.Method != "GET" || r.Status != 200 || r.Size == 0 || r.CreatedAt.IsZero() || r.Key == "" {
			t.Errorf("row %d = %+v", i, r)
		}
		if i > 0 && (rows[i-1].URL > r.URL || rows[i-1].URL == r.URL && rows[i-1].CreatedAt.After(r.CreatedAt)) {
			t.Errorf("ls not sorted by URL then created: %+v before %+v", rows[i-1], r)
		}
		if strings.HasSuffix(r.URL, "/plain") != (r.ExpiresAt == nil) {
			t.Errorf("expires_at of %s = %v; want null only for /plain", r.URL, r.ExpiresAt)
		}
		if strings.Contains(r.URL, "secret") {
			t.Errorf("ls shows a credential: %s", r.URL)
		}
	}
	for path, k := range f.keys {
		if !keys[k] {
			t.Errorf("ls misses %s (%s)", path, k)
		}
	}

	if rows := ls("-host", f.hostA); len(rows) != 5 {
		t.Errorf("ls -host %s: %d rows, want 5", f.hostA, len(rows))
	}
	if rows := ls("-host", "127.0.0.1"); len(rows) != 7 {
		t.Errorf("ls -host without a port: %d rows, want both origins' 7", len(rows))
	}
	if rows := ls("-expired"); len(rows) != 1 || rows[0].Key != f.expiredKey || !rows[0].Expired {
		t.Errorf("ls -expired = %+v", rows)
	}
	if rows := ls("-fresh", "-host", f.hostB); len(rows) != 2 {
		t.Errorf("ls -fresh -host B: %d rows, want 2", len(rows))
	}
	if rows := ls("-older-than", "1h"); rows == nil || len(rows) != 0 {
		t.Errorf("ls -older-than 1h = %#v, want [] (everything was created just now)", rows)
	}
	if rows := ls("--older-than=1ms"); len(rows) != 7 {
		t.Errorf("ls --older-than=1ms: %d rows, want 7", len(rows))
	}

	code, out, _ := cli(t, "", "-config", f.config, "ls")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != exitOK || len(lines) != 8 || !strings.HasPrefix(lines[0], "KEY") {
		t.Fatalf("ls table: exit %d\n%s", code, out)
	}
	for _, want := range []string{"(expired)", "never", "api_key=REDACTED", f.keys["users/1 "][:12]} {
		if !strings.Contains(out, want) {
			t.Errorf("ls table lacks %q:\n%s", want, out)
		}
	}
	for _, args := range [][]string{{"ls", "-older-than", "soon"}, {"ls", "-older-than", "-5m"}, {"ls", "extra"}} {
		if code, _, stderr := cli(t, "", append([]string{"-config", f.config}, args...)...); code != exitUsage {
			t.Errorf("%v: exit %d, want %d (%s)", args, code, exitUsage, stderr)
		}
	}
}

func TestShow(t *testing.T) {
	f := newFixture(t)
	key := f.keys["users/1 "]
	code, out, _ := cli(t, "", "-config", f.config, "show", key[:8])
	if code != exitOK || !strings.Contains(out, "key:      "+key) || !strings.Contains(out, "Content-Type: application/json") ||
		!strings.Contains(out, `{"path":"/users/1"`) || !strings.Contains(out, "status:   200 OK") {
		t.Fatalf("show by key prefix: exit %d\n%s", code, out)
	}

	code, out, _ = cli(t, "", "-config", f.config, "show", "-body-bytes", "10", f.a.URL+"/users/2")
	if code != exitOK || !strings.Contains(out, `{"path":"/`+"\n") || !strings.Contains(out, "(10 of ") {
		t.Fatalf("show by URL with a 10-byte preview: exit %d\n%s", code, out)
	}

	// Every variant stored for a URL, ignored parameters matching whatever
	// their value.
	code, out, _ = cli(t, "", "-config", f.config, "-json", "show", f.a.URL+"/vary")
	var shown []showJSON
	mustJSON(t, out, &shown)
	if code != exitOK || len(shown) != 2 {
		t.Fatalf("show of a URL with two variants: exit %d, %d shown", code, len(shown))
	}
	accepts := []string{shown[0].RequestHeader.Get("Accept"), shown[1].RequestHeader.Get("Accept")}
	slices.Sort(accepts)
	if accepts[0] != "application/json" || accepts[1] != "text/plain" || shown[0].Header.Get("Vary") != "Accept" {
		t.Fatalf("show of the variants: request Accept %v, headers %v", accepts, shown[0].Header)
	}
	code, out, _ = cli(t, "", "-config", f.config, "show", f.b.URL+"/binary?api_key=other")
	if code != exitOK || !strings.Contains(out, "(4 bytes binary)") {
		t.Fatalf("show binary: exit %d\n%s", code, out)
	}

	code, out, _ = cli(t, "", "-config", f.config, "-json", "show", key)
	mustJSON(t, out, &shown)
	if code != exitOK || len(shown) != 1 || shown[0].Key != key || shown[0].Header.Get("Cache-Control") != "max-age=3600" ||
		shown[0].BodyBytes < 600 || len(shown[0].BodyPreview) != 512 || shown[0].BodyBinary {
		t.Fatalf("show -json of a whole key: exit %d\n%s", code, out)
	}

	if code, _, stderr := cli(t, "", "-config", f.config, "show", "ffffffffffff"); code != exitNotFound || !strings.Contains(stderr, "no stored response") {
		t.Fatalf("show of a missing key: exit %d, %q", code, stderr)
	}
	if code, _, _ := cli(t, "", "-config", f.config, "show", f.a.URL+"/never-fetched"); code != exitNotFound {
		t.Fatalf("show of a URL never fetched: exit %d, want %d", code, exitNotFound)
	}
	for _, args := range [][]string{{"show", "abc"}, {"show"}, {"show", key, "-body-bytes", "3"}, {"show", "-body-bytes", "-1", key}} {
		if code, _, _ := cli(t, "", append([]string{"-config", f.config}, args...)...); code != exitUsage {
			t.Errorf("%v: exit %d, want usage", args, code)
		}
	}
}

func TestRm(t *testing.T) {
	f := newFixture(t)
	code, out, _ := cli(t, "", "-config", f.config, "rm", "-expired")
	if code != exitOK || out != "removed 1 response\n" {
		t.Fatalf("rm -expired: exit %d, %q", code, out)
	}
	if st := f.stats(t); st.Entries != 6 || st.Expired != 0 {
		t.Fatalf("after rm -expired: %+v, want 6 fresh entries", st)
	}
	if code, _, _ := cli(t, "", "-config", f.config, "show", f.expiredKey); code != exitNotFound {
		t.Fatalf("the expired entry survived rm -expired (show exit %d)", code)
	}

	// A -url, a URL argument (both variants) and a key prefix at once.
	code, out, _ = cli(t, "", "-config", f.config, "-json", "rm", "-url", f.a.URL+"/users/2", f.a.URL+"/vary", f.keys["users/1 "][:10])
	var removed struct {
		Removed int `json:"removed"`
	}
	mustJSON(t, out, &removed)
	if code != exitOK || removed.Removed != 4 {
		t.Fatalf("rm by URL and key: exit %d, %+v", code, removed)
	}
	if st := f.stats(t); st.Entries != 2 || st.Hosts[f.hostA] != 0 {
		t.Fatalf("after rm: %+v", st)
	}

	code, out, _ = cli(t, "", "-config", f.config, "rm", "-url", f.a.URL+"/users/2", "-older-than", "1h")
	if code != exitNotFound || out != "removed 0 responses\n" {
		t.Fatalf("rm of nothing: exit %d, %q", code, out)
	}
	for _, args := range [][]string{{"rm"}, {"rm", "-url", "not-a-url"}, {"rm", "-older-than", "0s"}, {"rm", "abc"}} {
		if code, _, stderr := cli(t, "", append([]string{"-config", f.config}, args...)...); code != exitUsage {
			t.Errorf("%v: exit %d, want usage (%s)", args, code, stderr)
		}
	}
	if st := f.stats(t); st.Entries != 2 {
		t.Fatalf("usage errors removed something: %+v", st)
	}
}

func TestClear(t *testing.T) {
	f := newFixture(t)
	credKey := func() string {
		t.Helper()
		st, err := backend.Open(context.Background(), f.cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		v, err := st.GetAlias(context.Background(), session.CredentialKeyAlias)
		if err != nil {
			t.Fatalf("the credential key alias: %v", err)
		}
		return v
	}
	before := credKey()

	code, out, stderr := cli(t, "n\n", "-config", f.config, "clear")
	if code != exitError || out != "" || !strings.Contains(stderr, "Delete all 7 cached responses from mongo mongodb://") ||
		!strings.Contains(stderr, "? [y/N]") || !strings.Contains(stderr, "not confirmed") {
		t.Fatalf("clear answered n: exit %d, stdout %q, stderr %q", code, out, stderr)
	}
	if code, _, _ := cli(t, "", "-config", f.config, "-json", "clear"); code != exitError {
		t.Fatalf("clear with an empty stdin (a script without -yes): exit %d", code)
	}
	if st := f.stats(t); st.Entries != 7 {
		t.Fatalf("clear deleted without confirmation: %+v", st)
	}

	code, out, _ = cli(t, "y\n", "-config", f.config, "clear")
	if code != exitOK || out != "removed 7 responses\n" {
		t.Fatalf("clear answered y: exit %d, %q", code, out)
	}
	if st := f.stats(t); st.Entries != 0 {
		t.Fatalf("after clear: %+v", st)
	}
	if after := credKey(); after != before {
		t.Fatal("clear lost the credential key processes sharing the store derive keys from")
	}

	code, out, _ = cli(t, "", "-config", f.config, "-json", "clear", "-yes")
	if code != exitOK || strings.TrimSpace(out) != `{
  "removed": 0
}` {
		t.Fatalf("clear -yes -json: exit %d, %q", code, out)
	}
}

func TestGet(t *testing.T) {
	f := newFixture(t)
	before := f.aHits.Load()
	code, out, _ := cli(t, "", "-config", f.config, "get", f.a.URL+"/users/1")
	if code != exitOK || !strings.HasPrefix(out, "200 OK\nCache-Status: reqcache; hit; ttl=") {
		t.Fatalf("get of a stored URL: exit %d\n%s", code, out)
	}

	// A miss, stored, then a hit in the next process.
	code, out, _ = cli(t, "", "-config", f.config, "-json", "get", "-body", f.a.URL+"/users/9")
	var got struct {
		URL         string      `json:"url"`
		Status      int         `json:"status"`
		CacheStatus string      `json:"cache_status"`
		FromCache   bool        `json:"from_cache"`
		Stored      bool        `json:"stored"`
		Key         string      `json:"key"`
		Header      http.Header `json:"header"`
		Body        string      `json:"body"`
	}
	mustJSON(t, out, &got)
	if code != exitOK || got.Status != 200 || got.FromCache || !got.Stored || got.Key == "" ||
		got.CacheStatus != "reqcache; fwd=uri-miss; stored" || !strings.Contains(got.Body, "/users/9") {
		t.Fatalf("get of a new URL: exit %d\n%s", code, out)
	}
	code, out, _ = cli(t, "", "-config", f.config, "get", "-v", f.a.URL+"/users/9")
	if code != exitOK || !strings.Contains(out, "Cache-Status: reqcache; hit;") || !strings.Contains(out, "Content-Type: application/json") {
		t.Fatalf("second get: exit %d\n%s", code, out)
	}
	if n := f.aHits.Load() - before; n != 1 {
		t.Fatalf("the origin saw %d requests for three gets, want 1", n)
	}

	// -body: stdout is the body alone, the status lines go to stderr.
	code, out, stderr := cli(t, "", "-config", f.config, "get", "-body", f.b.URL+"/plain")
	if code != exitOK || out != "plain text" || !strings.Contains(stderr, "Cache-Status: reqcache; hit") {
		t.Fatalf("get -body: exit %d, stdout %q, stderr %q", code, out, stderr)
	}
	// An HTTP error status is still a successful command.
	if code, out, _ := cli(t, "", "-config", f.config, "get", f.a.URL+"/down"); code != exitOK || !strings.HasPrefix(out, "503 ") {
		t.Fatalf("get of a 503: exit %d, %q", code, out)
	}
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	if code, _, stderr := cli(t, "", "-config", f.config, "get", closed.URL+"/x"); code != exitError || !strings.HasPrefix(stderr, "reqcache: ") {
		t.Fatalf("get of an unreachable origin: exit %d, %q", code, stderr)
	}
	for _, args := range [][]string{{"get", "ftp://x"}, {"get"}, {"get", "http://"}, {"get", "http://a.test/", "extra"}} {
		if code, _, _ := cli(t, "", append([]string{"-config", f.config}, args...)...); code != exitUsage {
			t.Errorf("%v: exit %d, want usage", args, code)
		}
	}
}

func TestTieredSeesTheSameCache(t *testing.T) {
	f := newFixture(t)
	tiered := writeConfig(t, "tiered.toml", fmt.Sprintf(`backend = "tiered"
[mongo]
uri = %q
database = %q
collection = %q
`, f.cfg.Mongo.URI, f.cfg.Mongo.Database, f.cfg.Mongo.Collection))
	code, out, stderr := cli(t, "", "-config", tiered, "stats")
	if code != exitOK || tableValue(out, "entries") != "7" || !strings.Contains(out, "tiered (memory in front of mongo") {
		t.Fatalf("stats on tiered: exit %d\n%s%s", code, out, stderr)
	}
}

func TestHelpAndUsageErrors(t *testing.T) {
	code, out, _ := cli(t, "", "-h")
	if code != exitOK || !strings.Contains(out, "Exit codes") || !strings.Contains(out, `"created_at"`) {
		t.Fatalf("-h: exit %d\n%s", code, out)
	}
	if code, help, _ := cli(t, "", "help"); code != exitOK || help != out {
		t.Fatalf("help: exit %d, differs from -h", code)
	}
	for _, c := range commands {
		if !strings.Contains(out, "\n  "+c.name) {
			t.Errorf("-h does not list %s", c.name)
		}
		_, own, _ := cli(t, "", c.name, "-h")
		_, viaHelp, _ := cli(t, "", "help", c.name)
		if !strings.HasPrefix(own, "Usage: reqcache [global flags] "+c.name) || own != viaHelp {
			t.Errorf("%s -h and help %s differ or lack the synopsis:\n%s", c.name, c.name, own)
		}
		for _, fl := range c.ownFlags() {
			for _, doc := range []string{out, own} {
				if !strings.Contains(doc, "-"+fl.Name+" ") {
					t.Errorf("the help does not document %s -%s", c.name, fl.Name)
				}
			}
		}
		for _, want := range []string{"-config FILE", "-json", "With -json", "3  not found"} {
			if !strings.Contains(own, want) {
				t.Errorf("%s -h lacks %q", c.name, want)
			}
		}
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "Usage: reqcache"},
		{[]string{"frobnicate"}, `reqcache: unknown command "frobnicate"`},
		{[]string{"-bogus", "stats"}, "reqcache: flag provided but not defined: -bogus"},
		{[]string{"ls", "-bogus"}, "reqcache: ls: flag provided but not defined: -bogus\nRun 'reqcache ls -h' for usage."},
		{[]string{"stats", "extra"}, `reqcache: stats: unexpected argument "extra"`},
		{[]string{"clear", "-yes=maybe"}, "reqcache: clear: invalid boolean value"},
		{[]string{"help", "nope"}, `unknown command "nope"`},
		{[]string{"show", "abcdef", "-body-bytes", "3"}, "flags such as -body-bytes go before arguments"},
		{[]string{"get", "http://a.test/", "-v"}, "flags such as -v go before arguments"},
	} {
		code, out, stderr := cli(t, "", tc.args...)
		if code != exitUsage || out != "" || !strings.Contains(stderr, tc.want) {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit 2 and %q", tc.args, code, out, stderr, tc.want)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	t.Chdir(t.TempDir())
	bad := writeConfig(t, "bad.toml", "backend = \"memory\"\nexpire_after = \"forever\"\n")
	code, _, stderr := cli(t, "", "-config", bad, "stats")
	if code != exitError || !strings.HasPrefix(stderr, "reqcache: "+bad+":2: expire_after: ") {
		t.Fatalf("bad config: exit %d %q", code, stderr)
	}
	if code, _, stderr := cli(t, "", "-config", filepath.Join(t.TempDir(), "missing.toml"), "ls"); code != exitError || !strings.Contains(stderr, "missing.toml") {
		t.Fatalf("missing config: exit %d %q", code, stderr)
	}

	// An unreachable MongoDB is an error naming the host, never the password.
	down := writeConfig(t, "down.toml", "backend = \"mongo\"\n[mongo]\nuri = \"mongodb://user:hunter2@127.0.0.1:1/\"\nconnect_timeout = \"300ms\"\n")
	code, out, stderr := cli(t, "", "-config", down, "stats")
	if code != exitError || strings.Contains(stderr+out, "hunter2") || !strings.Contains(stderr, "127.0.0.1:1") || strings.HasPrefix(stderr, "reqcache: reqcache:") {
		t.Fatalf("unreachable store: exit %d %q", code, stderr)
	}

	// $REQCACHE_CONFIG is read when -config is absent, and -config wins.
	t.Setenv("REQCACHE_CONFIG", bad)
	if code, _, stderr := cli(t, "", "stats"); code != exitError || !strings.Contains(stderr, "$REQCACHE_CONFIG: "+bad+":2:") {
		t.Fatalf("$REQCACHE_CONFIG not used: exit %d %q", code, stderr)
	}
	good := writeConfig(t, "good.toml", "backend = \"memory\"\n")
	if code, out, _ := cli(t, "", "-config", good, "stats"); code != exitOK || !strings.Contains(out, good) {
		t.Fatalf("-config does not win over $REQCACHE_CONFIG: exit %d\n%s", code, out)
	}
	// ./reqcache.toml is read when neither is given.
	t.Setenv("REQCACHE_CONFIG", "")
	if err := os.WriteFile("reqcache.toml", []byte("backend = \"nope\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := cli(t, "", "stats"); code != exitError || !strings.Contains(stderr, "reqcache.toml:1: backend") {
		t.Fatalf("./reqcache.toml not used: exit %d %q", code, stderr)
	}
}

func TestMemoryBackend(t *testing.T) {
	t.Chdir(t.TempDir()) // no ./reqcache.toml: the built-in defaults
	t.Setenv("REQCACHE_CONFIG", "")
	code, out, stderr := cli(t, "", "stats")
	if code != exitOK || tableValue(out, "entries") != "0" || !strings.Contains(out, "built-in defaults") || !strings.Contains(stderr, "lives inside one process") {
		t.Fatalf("stats on the defaults: exit %d %q %q", code, out, stderr)
	}
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "hello") }))
	defer origin.Close()
	code, out, _ = cli(t, "", "get", origin.URL+"/greeting")
	if code != exitOK || out != "200 OK\nCache-Status: reqcache; fwd=uri-miss; stored\n" {
		t.Fatalf("get on the memory backend: exit %d %q", code, out)
	}
	// Each run has its own memory cache: nothing was kept.
	code, out, _ = cli(t, "", "-json", "stats")
	var st statsJSON
	mustJSON(t, out, &st)
	if code != exitOK || st.Entries != 0 || st.Backend != "memory" || st.Hosts == nil {
		t.Fatalf("stats -json on the defaults: exit %d %+v", code, st)
	}
	if code, out, _ := cli(t, "", "-json", "ls"); code != exitOK || strings.TrimSpace(out) != "[]" {
		t.Fatalf("ls -json of an empty cache: exit %d %q", code, out)
	}
	if code, _, _ := cli(t, "", "rm", "-expired"); code != exitNotFound {
		t.Fatalf("rm on an empty cache: exit %d, want %d", code, exitNotFound)
	}
}

// tableValue is the value on the line of a two-column table whose first
// column is name.
func tableValue(out, name string) string {
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func TestClearPromptGivesUpOnInterrupt(t *testing.T) {
	r, w := io.Pipe() // a terminal nobody answers
	defer w.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := readLine(ctx, r); done <- err }()
	cancel()
	if err := <-done; err != context.Canceled {
		t.Fatalf("readLine after Ctrl-C: %v, want context.Canceled", err)
	}
	if line, err := readLine(context.Background(), strings.NewReader("yes")); line != "yes" || err != nil {
		t.Fatalf("readLine of an answer without a newline: %q, %v", line, err)
	}
}

func TestExportImport(t *testing.T) {
	f := newFixture(t)
	file := filepath.Join(t.TempDir(), "cache.jsonl")
	code, out, stderr := cli(t, "", "-config", f.config, "export", "-o", file)
	if code != exitOK || out != fmt.Sprintf("exported %d responses to %s\n", f.entries, file) {
		t.Fatalf("export -o: exit %d %q %q", code, out, stderr)
	}
	written, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if code, out, _ := cli(t, "", "-config", f.config, "export"); code != exitOK || out != string(written) {
		t.Fatalf("export to stdout: exit %d, differs from the file", code)
	}
	if strings.Contains(string(written), "secret") {
		t.Fatal("the export holds a credential")
	}

	// Into another collection: requests-cache's BaseCache.update().
	other := writeConfig(t, "other.toml", fmt.Sprintf(`backend = "mongo"
cache_control = true

[mongo]
uri = %q
database = "reqcache_cmd_test"
collection = %q
`, mongotest.URI(t), mongotest.Name(t)+"_copy"))
	// The file holds an entry keyed by a credential (api_key), which no
	// line can vouch for: refused, unless the file is trusted.
	code, _, stderr = cli(t, "", "-config", other, "import", file)
	if code == exitOK || !strings.Contains(stderr, "-trust-keys") {
		t.Fatalf("import of credential-keyed entries without -trust-keys: exit %d %q", code, stderr)
	}
	code, out, stderr = cli(t, "", "-config", other, "-json", "import", "-trust-keys", file)
	var imported struct{ Imported, Refused int }
	mustJSON(t, out, &imported)
	if code != exitOK || imported.Imported != f.entries {
		t.Fatalf("import: exit %d %q %q", code, out, stderr)
	}
	before := f.aHits.Load()
	for _, path := range []string{"/users/1", "/users/2"} {
		code, out, _ = cli(t, "", "-config", other, "get", f.a.URL+path)
		if code != exitOK || !strings.Contains(out, "reqcache; hit") {
			t.Fatalf("get %s from the imported cache: exit %d %q", path, code, out)
		}
	}
	if f.aHits.Load() != before {
		t.Fatal("the imported cache asked the origin")
	}

	bad := filepath.Join(t.TempDir(), "bad.jsonl")
	os.WriteFile(bad, append(written, []byte("{\"v\":1,\"key\":\n")...), 0o600)
	code, _, stderr = cli(t, "", "-config", other, "import", "-trust-keys", bad)
	if code != exitError || !strings.Contains(stderr, fmt.Sprintf("line %d", f.entries+1+strings.Count(string(written), "\"alias\""))) {
		t.Fatalf("import of a bad file: exit %d %q", code, stderr)
	}
}

// With backend = "memory" and a snapshot, the command reads and edits the
// snapshot file: the cache of a CLI or a script.
func TestMemorySnapshot(t *testing.T) {
	dir := t.TempDir()
	snap := filepath.Join(dir, "cache.snapshot")
	cfgPath := writeConfig(t, "reqcache.toml", fmt.Sprintf("[memory]\nsnapshot = %q\n", snap))
	var hits atomic.Int64
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		fmt.Fprint(w, "hello "+r.URL.Path)
	}))
	defer origin.Close()
	for _, p := range []string{"/a", "/b"} {
		if code, _, stderr := cli(t, "", "-config", cfgPath, "get", origin.URL+p); code != exitOK || strings.Contains(stderr, "lives inside one process") {
			t.Fatalf("get %s: exit %d %q", p, code, stderr)
		}
	}
	// A second run is answered from the snapshot.
	code, out, _ := cli(t, "", "-config", cfgPath, "get", origin.URL+"/a")
	if code != exitOK || !strings.Contains(out, "reqcache; hit") || hits.Load() != 2 {
		t.Fatalf("a later run: exit %d %q, origin %d", code, out, hits.Load())
	}
	if code, out, _ := cli(t, "", "-config", cfgPath, "stats"); code != exitOK || tableValue(out, "entries") != "2" {
		t.Fatalf("stats on the snapshot: exit %d %q", code, out)
	}
	if code, out, _ := cli(t, "", "-config", cfgPath, "-json", "rm", "-url", origin.URL+"/b"); code != exitOK || !strings.Contains(out, `"removed": 1`) {
		t.Fatalf("rm on the snapshot: exit %d %q", code, out)
	}
	if code, out, _ := cli(t, "", "-config", cfgPath, "ls"); code != exitOK || strings.Contains(out, "/b") || !strings.Contains(out, "/a") {
		t.Fatalf("ls after rm: exit %d %q", code, out)
	}
	if code, out, _ := cli(t, "", "-config", cfgPath, "export"); code != exitOK || strings.Count(out, "\n") != 1 {
		t.Fatalf("export of the snapshot: exit %d %q", code, out)
	}
	// One of anything is said in the singular.
	file := filepath.Join(dir, "one.jsonl")
	if code, out, _ := cli(t, "", "-config", cfgPath, "export", "-o", file); code != exitOK || out != "exported 1 response to "+file+"\n" {
		t.Fatalf("export -o of one response: exit %d %q", code, out)
	}
	if code, _, stderr := cli(t, "n\n", "-config", cfgPath, "clear"); code != exitError || !strings.Contains(stderr, "Delete all 1 cached response from") {
		t.Fatalf("clear's question about one response: exit %d %q", code, stderr)
	}
	if code, _, _ := cli(t, "", "-config", cfgPath, "clear", "-yes"); code != exitOK {
		t.Fatalf("clear: exit %d", code)
	}
	if code, out, _ := cli(t, "", "-config", cfgPath, "stats"); code != exitOK || tableValue(out, "entries") != "0" {
		t.Fatalf("stats after clear: exit %d %q", code, out)
	}
}

// A snapshot the command refuses is never written over, and the command
// says so on stderr with the fix (issue 41, finding 1): before, `ls` printed
// an empty table, exited 0, and the operator's file was replaced at exit.
func TestRefusedSnapshotIsKeptAndSaid(t *testing.T) {
	dir := t.TempDir()
	snap := filepath.Join(dir, "cache.snapshot")
	cfgPath := writeConfig(t, "reqcache.toml", fmt.Sprintf("[memory]\nsnapshot = %q\n", snap))
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "hello") }))
	defer origin.Close()
	if code, _, stderr := cli(t, "", "-config", cfgPath, "get", origin.URL+"/a"); code != exitOK {
		t.Fatalf("get: exit %d %q", code, stderr)
	}
	if err := os.Chmod(snap, 0o666); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(snap)
	for _, cmd := range []string{"ls", "stats"} {
		_, _, stderr := cli(t, "", "-config", cfgPath, cmd)
		if !strings.Contains(stderr, "not loaded") || !strings.Contains(stderr, "chmod 600 "+snap) {
			t.Errorf("%s said nothing of the refused snapshot: %q", cmd, stderr)
		}
		if after, err := os.ReadFile(snap); err != nil || !bytes.Equal(before, after) {
			t.Fatalf("%s wrote over the refused snapshot (%v)", cmd, err)
		}
	}
	// Fixed as told, the snapshot is there again.
	if err := os.Chmod(snap, 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out, _ := cli(t, "", "-config", cfgPath, "stats"); code != exitOK || tableValue(out, "entries") != "1" {
		t.Fatalf("stats after chmod 600: exit %d %q", code, out)
	}
}

// The quick start's ls, once its entry expired (issue 41, finding 4): the
// snapshot held it, but it was not loaded, and ls printed a header alone.
// Expired entries are loaded and listed, and ls says how many it listed.
func TestLsListsExpiredEntriesAndCounts(t *testing.T) {
	snap := filepath.Join(t.TempDir(), "cache.snapshot")
	cfgPath := writeConfig(t, "reqcache.toml", fmt.Sprintf("[memory]\nsnapshot = %q\n", snap))
	st, err := memory.New(config.Memory{MaxSizeMB: 4, Shards: 4, Snapshot: snap}, nil)
	if err != nil {
		t.Fatal(err)
	}
	e := storetest.NewEntry("quickstart")
	e.URL = "https://api.example.com/quick"
	e.ExpiresAt = time.Now().Add(-time.Minute)
	e.Header.Del("ETag")
	e.Header.Del("Last-Modified")
	if err := st.Set(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	code, out, stderr := cli(t, "", "-config", cfgPath, "ls")
	if code != exitOK || !strings.Contains(out, "https://api.example.com/quick") || !strings.Contains(out, "(expired)") {
		t.Fatalf("ls: exit %d\n%s", code, out)
	}
	if !strings.Contains(stderr, "1 response, all expired") {
		t.Fatalf("ls said %q", stderr)
	}
	if _, _, stderr := cli(t, "", "-config", cfgPath, "ls", "-fresh"); !strings.Contains(stderr, "no cached response matches the filters") {
		t.Fatalf("ls -fresh said %q", stderr)
	}
}

// After a rotation (a new key put first), reseal writes every response
// again with the new key: then the old key can go.
func TestResealAfterARotation(t *testing.T) {
	oldKey := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 32))
	newKey := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{2}, 32))
	t.Setenv("RC_OLD", oldKey)
	t.Setenv("RC_ROTATED", newKey+","+oldKey)
	t.Setenv("RC_NEW", newKey)
	coll := mongotest.Name(t)
	withKeys := func(name, env string) string {
		return writeConfig(t, name, fmt.Sprintf("backend = \"mongo\"\n\n[mongo]\nuri = %q\ndatabase = \"reqcache_cmd_test\"\ncollection = %q\n\n[encryption]\nkey_env = %q\n", mongotest.URI(t), coll, env))
	}
	oldCfg, rotated, newOnly := withKeys("old.toml", "RC_OLD"), withKeys("rotated.toml", "RC_ROTATED"), withKeys("new.toml", "RC_NEW")
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=3600")
		io.WriteString(w, "sealed body "+r.URL.Path)
	}))
	t.Cleanup(origin.Close)
	cfg, err := config.Load(oldCfg)
	if err != nil {
		t.Fatal(err)
	}
	sess := openSession(t, cfg)
	for _, p := range []string{"/a", "/b"} {
		resp, err := sess.Client().Get(origin.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	sess.Close()

	if code, out, _ := cli(t, "", "-config", newOnly, "-json", "ls"); code != 0 || strings.Count(out, `"key"`) != 0 {
		t.Fatalf("the new key alone, before reseal: code %d, %s (want no readable response)", code, out)
	}
	if code, out, stderr := cli(t, "", "-config", rotated, "-json", "reseal"); code != 0 || !strings.Contains(out, `"resealed": 2`) {
		t.Fatalf("reseal: code %d, %s %s", code, out, stderr)
	}
	if code, out, _ := cli(t, "", "-config", newOnly, "-json", "ls"); code != 0 || strings.Count(out, `"key"`) != 2 {
		t.Fatalf("the new key alone, after reseal: code %d, %s (want both responses)", code, out)
	}
	// An export of the sealed store says it is not sealed.
	file := filepath.Join(t.TempDir(), "export.jsonl")
	if code, out, stderr := cli(t, "", "-config", newOnly, "-json", "export", "-o", file); code != 0 || !strings.Contains(out, `"sealed": false`) || !strings.Contains(stderr, "an export is not") {
		t.Fatalf("export of a sealed store: code %d, %s %s", code, out, stderr)
	}
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("the export file: %v %v, want mode 0600", fi, err)
	}
	if code, _, stderr := cli(t, "", "-config", withKeys("none.toml", ""), "reseal"); code == 0 || !strings.Contains(stderr, "[encryption]") {
		t.Fatalf("reseal without keys: code %d, %s", code, stderr)
	}
}

// openSession opens cfg's backend and a session on it, as the command
// does; the caller closes it.
func openSession(t *testing.T, cfg *config.Config) *session.Session {
	t.Helper()
	st, err := backend.Open(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	sess, err := session.New(cfg, session.WithStore(st))
	if err != nil {
		st.Close()
		t.Fatal(err)
	}
	return sess
}
