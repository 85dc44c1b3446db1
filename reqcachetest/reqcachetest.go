// Package reqcachetest makes reqcache a test fixture: HTTP responses
// recorded once into a file under testdata/, then replayed offline, with
// credentials redacted as in any reqcache store. It does what go-vcr's
// cassettes do, with HTTP caching's rules for what matches, and it never
// records silently: replay is offline, a request the fixture lacks fails
// the test with the command that records it.
//
//	func TestClient(t *testing.T) {
//		c := reqcachetest.Client(t, "testdata/api.jsonl")
//		resp, err := c.Get("https://api.example.com/v1/users/42")
//		...
//	}
//
// Record (or re-record) with `go test -run TestClient -reqcache.record`
// (or REQCACHE_RECORD=1): requests then reach the network, and the fixture
// is written when the test ends.
//
// Client gives the test its own client (safe with t.Parallel); Install
// patches http.DefaultClient and http.DefaultTransport for the code under
// test that uses them (process-global: not for parallel tests), and Cache
// is a bare cache for one test, with no fixture.
package reqcachetest

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/reqcache/reqcache"
	"github.com/reqcache/reqcache/config"
	"github.com/reqcache/reqcache/session"
)

// RecordEnv is the environment variable that, set to 1, records fixtures
// (like the -reqcache.record flag).
const RecordEnv = "REQCACHE_RECORD"

var recordFlag = flag.Bool("reqcache.record", false, "record reqcachetest fixtures from the network instead of replaying them")

// Recording reports whether fixtures are being recorded (-reqcache.record
// or REQCACHE_RECORD=1).
func Recording() bool {
	return *recordFlag || os.Getenv(RecordEnv) == "1"
}

// Option adjusts the configuration of a fixture's cache.
type Option func(*config.Config)

// WithConfig edits the configuration a fixture's cache starts from:
// config.Default() with a small memory store, responses that never expire,
// and separate_credentials off (a fixture's keys must not depend on the
// per-store secret that separates credentials; credentials are redacted
// all the same).
func WithConfig(edit func(*config.Config)) Option { return Option(edit) }

func fixtureConfig(opts []Option) *config.Config {
	c := config.Default()
	c.Memory.MaxSizeMB = 16
	c.Memory.Shards = 16
	c.ExpireAfter = config.NeverExpire
	c.SeparateCredentials = false
	for _, o := range opts {
		if o != nil {
			o(c)
		}
	}
	return c
}

// Client returns an HTTP client for t answered from the fixture file (a
// path such as "testdata/api.jsonl"), or, when recording, through the
// network, the fixture written when t ends. It is t's own: tests using it
// may run in parallel.
func Client(t testing.TB, fixture string, opts ...Option) *http.Client {
	t.Helper()
	return Session(t, fixture, opts...).Client()
}

// Session is Client's session, for tests that need its Cache or Settings.
func Session(t testing.TB, fixture string, opts ...Option) *session.Session {
	t.Helper()
	cfg := fixtureConfig(opts)
	upstream := http.DefaultTransport
	if !Recording() {
		upstream = &missReporter{t: t, fixture: fixture}
	}
	s, err := session.New(cfg, session.WithUpstream(upstream))
	if err != nil {
		t.Fatalf("reqcachetest: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	attach(t, s, fixture)
	return s
}

// Install installs reqcache for the duration of t, answered from the
// fixture as Client is, so that code under test using http.DefaultClient,
// http.Get or http.DefaultTransport is answered from it. Install is
// process-global: tests using it must not run in parallel with each other
// or with tests that use the network through the defaults.
func Install(t testing.TB, fixture string, opts ...Option) *session.Session {
	t.Helper()
	cfg := fixtureConfig(opts)
	options := []reqcache.Option{reqcache.WithConfig(cfg)}
	if !Recording() {
		options = append(options, reqcache.WithUpstream(&missReporter{t: t, fixture: fixture}))
	}
	if err := reqcache.Install(options...); err != nil {
		t.Fatalf("reqcachetest: %v", err)
	}
	s := reqcache.Installed()
	t.Cleanup(func() {
		if err := reqcache.Uninstall(); err != nil {
			t.Errorf("reqcachetest: %v", err)
		}
	})
	attach(t, s, fixture)
	return s
}

// Cache returns a session with an empty memory cache of its own for t,
// closed when t ends: no fixture, the network as usual.
func Cache(t testing.TB, opts ...Option) *session.Session {
	t.Helper()
	s, err := session.New(fixtureConfig(opts))
	if err != nil {
		t.Fatalf("reqcachetest: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// attach loads the fixture into s (replaying), or arranges for s's
// responses to be written to it when t ends (recording).
func attach(t testing.TB, s *session.Session, fixture string) {
	t.Helper()
	if Recording() {
		// Registered after Install's and Session's own Cleanup, so it runs
		// first, while the session is still open.
		t.Cleanup(func() { write(t, s, fixture) })
		return
	}
	data, err := os.ReadFile(fixture)
	if errors.Is(err, os.ErrNotExist) {
		t.Fatalf("reqcachetest: fixture %s does not exist; record it with: %s", fixture, recordCommand(t))
	}
	if err != nil {
		t.Fatalf("reqcachetest: %v", err)
	}
	ctx := context.Background()
	if _, err := s.Cache().Import(ctx, bytes.NewReader(data)); err != nil {
		t.Fatalf("reqcachetest: fixture %s: %v", fixture, err)
	}
	// A fixture answers whatever the clock says: nothing in it expires.
	if _, err := s.Cache().ResetExpiration(ctx, config.NeverExpire); err != nil {
		t.Fatalf("reqcachetest: %v", err)
	}
}

// write exports what s holds into the fixture file.
func write(t testing.TB, s *session.Session, fixture string) {
	var buf bytes.Buffer
	n, err := s.Cache().Export(context.Background(), &buf, session.Filter{})
	if err != nil {
		t.Errorf("reqcachetest: recording %s: %v", fixture, err)
		return
	}
	if err := os.MkdirAll(filepath.Dir(fixture), 0o755); err != nil {
		t.Errorf("reqcachetest: %v", err)
		return
	}
	if err := os.WriteFile(fixture, buf.Bytes(), 0o644); err != nil {
		t.Errorf("reqcachetest: %v", err)
		return
	}
	t.Logf("reqcachetest: recorded %d responses into %s", n, fixture)
}

// missReporter is the upstream of a replaying session: a request the
// fixture cannot answer reaches it, fails the test, and never the network.
type missReporter struct {
	t       testing.TB
	fixture string
}

func (m *missReporter) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		req.Body.Close()
	}
	m.t.Errorf("reqcachetest: %s %s is not in fixture %s (replay is offline); record it with: %s",
		req.Method, req.URL.Redacted(), m.fixture, recordCommand(m.t))
	return nil, fmt.Errorf("reqcachetest: %s %s is not in fixture %s", req.Method, req.URL.Redacted(), m.fixture)
}

func recordCommand(t testing.TB) string {
	return fmt.Sprintf("%s=1 go test -run '^%s$' .", RecordEnv, t.Name())
}
