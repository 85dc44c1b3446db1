package prometheus_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/reqcache/reqcache"
	"github.com/reqcache/reqcache/config"
	reqprom "github.com/reqcache/reqcache/contrib/prometheus"
	"github.com/reqcache/reqcache/session"
)

func origin(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "0123456789")
	}))
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, c *http.Client, url string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

func smallConfig() *config.Config {
	c := config.Default()
	c.Memory.MaxSizeMB = 8
	c.Memory.Shards = 8
	return c
}

func TestCollectorCountsASession(t *testing.T) {
	srv := origin(t)
	c := reqprom.New()
	s, err := session.New(smallConfig(), session.WithObserver(c))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c.ReadFrom(s)
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	client := s.Client()
	get(t, client, srv.URL+"/a") // miss
	get(t, client, srv.URL+"/a") // hit
	get(t, client, srv.URL+"/a") // hit
	get(t, client, srv.URL+"/b") // miss

	want := `
# HELP reqcache_cache_bytes_served_total Body bytes answered from the cache.
# TYPE reqcache_cache_bytes_served_total counter
reqcache_cache_bytes_served_total 20
# HELP reqcache_requests_total Requests through the cache, by outcome.
# TYPE reqcache_requests_total counter
reqcache_requests_total{outcome="hit"} 2
reqcache_requests_total{outcome="miss"} 2
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "reqcache_requests_total", "reqcache_cache_bytes_served_total"); err != nil {
		t.Fatal(err)
	}
	if n := testutil.CollectAndCount(c, "reqcache_entries", "reqcache_store_bytes"); n != 2 {
		t.Fatalf("%d series of entries and bytes held, want 2", n)
	}
	if n := testutil.CollectAndCount(c, "reqcache_store_operation_duration_seconds"); n < 2 {
		t.Fatalf("%d store operation series, want get/peek and set at least", n)
	}
	if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
		t.Fatalf("lint: %v %v", problems, err)
	}
}

// With Install, the collector follows whatever is installed.
func TestCollectorFollowsInstall(t *testing.T) {
	srv := origin(t)
	c := reqprom.New()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	for round := 0; round < 2; round++ {
		if err := reqcache.Install(reqcache.WithConfig(smallConfig()), reqcache.WithObserver(c)); err != nil {
			t.Fatal(err)
		}
		get(t, http.DefaultClient, srv.URL+"/x")
		get(t, http.DefaultClient, srv.URL+"/x")
		want := "\n# HELP reqcache_entries Responses held by the store.\n# TYPE reqcache_entries gauge\nreqcache_entries 1\n"
		if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "reqcache_entries"); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if err := reqcache.Uninstall(); err != nil {
			t.Fatal(err)
		}
	}
	want := `
# HELP reqcache_requests_total Requests through the cache, by outcome.
# TYPE reqcache_requests_total counter
reqcache_requests_total{outcome="hit"} 2
reqcache_requests_total{outcome="miss"} 2
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "reqcache_requests_total"); err != nil {
		t.Fatal(err)
	}
	// Nothing installed: no entries metric, the scrape still works.
	if n := testutil.CollectAndCount(c, "reqcache_entries"); n != 0 {
		t.Fatalf("%d entries series with nothing installed", n)
	}
}
