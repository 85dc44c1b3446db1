// Package bench compares reqcache with other Go HTTP caches on the same
// requests, in one run. It is its own module so that the library's users
// never download the peers.
//
//	cd bench && go test -run '^$' -bench . -benchmem
//
// Every benchmark reports ns/op and allocs/op, and "x-floor": its time
// divided by the floor's (a RoundTripper handing out a prebuilt response,
// the cost of http.Client itself), measured in the same process. The peers
// the Go module proxy serves are included: gregjones/httpcache,
// sandrolain/httpcache (its maintained fork) and bartventer/httpcache, each
// with its in-memory store. (The proxy refuses to list the last two; the
// exact versions in go.mod are served.)
package bench

import (
	"bytes"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"testing"
	"time"

	bartventer "github.com/bartventer/httpcache"
	_ "github.com/bartventer/httpcache/store/memcache"
	"github.com/gregjones/httpcache"
	sandrolain "github.com/sandrolain/httpcache"

	"github.com/reqcache/reqcache/config"
	"github.com/reqcache/reqcache/session"
)

var (
	body1K = bytes.Repeat([]byte("0123456789abcdef"), 64)
	// now is the responses' Date: with max-age=3600 they stay fresh for
	// the whole run.
	now = time.Now().UTC().Format(http.TimeFormat)
)

func header() http.Header {
	return http.Header{
		"Content-Type":  {"application/json"},
		"Date":          {now},
		"Server":        {"bench"},
		"Cache-Control": {"public, max-age=3600"},
		"Etag":          {`"abc123"`},
	}
}

// prebuilt answers every request with a fresh copy of one response.
type prebuilt struct{ body []byte }

func (p prebuilt) RoundTrip(req *http.Request) (*http.Response, error) {
	return &http.Response{
		Status: "200 OK", StatusCode: 200, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:        header(),
		Body:          io.NopCloser(bytes.NewReader(p.body)),
		ContentLength: int64(len(p.body)),
		Request:       req,
	}, nil
}

func get(b *testing.B, c *http.Client, url string) {
	resp, err := c.Get(url)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
}

// floorNs is the floor's ns/op, measured by TestMain before any benchmark
// runs (testing.Benchmark cannot run inside a benchmark).
var floorNs float64

func TestMain(m *testing.M) {
	flag.Parse()
	if f := flag.Lookup("test.bench"); f != nil && f.Value.String() != "" {
		r := testing.Benchmark(func(b *testing.B) {
			c := &http.Client{Transport: prebuilt{body1K}}
			for b.Loop() {
				get(b, c, "http://api.example.com/v1/items?id=42")
			}
		})
		floorNs = float64(r.NsPerOp())
	}
	os.Exit(m.Run())
}

func report(b *testing.B) {
	if floorNs > 0 {
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/floorNs, "x-floor")
	}
}

// A cache under test: a client whose transport caches in memory in front
// of upstream.
type cache struct {
	name string
	make func(tb testing.TB, upstream http.RoundTripper) *http.Client
}

var caches = []cache{
	{"reqcache", func(tb testing.TB, up http.RoundTripper) *http.Client {
		cfg := config.Default()
		cfg.CacheControl = true
		cfg.Memory.MaxSizeMB = 64
		s, err := session.New(cfg, session.WithUpstream(up))
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { s.Close() })
		return s.Client()
	}},
	{"gregjones", func(tb testing.TB, up http.RoundTripper) *http.Client {
		t := httpcache.NewMemoryCacheTransport()
		t.Transport = up
		return t.Client()
	}},
	{"sandrolain", func(tb testing.TB, up http.RoundTripper) *http.Client {
		t := sandrolain.NewMemoryCacheTransport()
		t.Transport = up
		return t.Client()
	}},
	{"bartventer", func(tb testing.TB, up http.RoundTripper) *http.Client {
		return bartventer.NewClient("memcache://", bartventer.WithUpstream(up))
	}},
}

func BenchmarkFloor(b *testing.B) {
	c := &http.Client{Transport: prebuilt{body1K}}
	b.ReportAllocs()
	for b.Loop() {
		get(b, c, "http://api.example.com/v1/items?id=42")
	}
	report(b)
}

// BenchmarkHit: the same URL, answered from each cache.
func BenchmarkHit(b *testing.B) {
	for _, cc := range caches {
		b.Run(cc.name, func(b *testing.B) {
			c := cc.make(b, prebuilt{body1K})
			url := "http://api.example.com/v1/items?id=42"
			get(b, c, url)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				get(b, c, url)
			}
			report(b)
		})
	}
}

// BenchmarkHitParallel: hits from every core.
func BenchmarkHitParallel(b *testing.B) {
	for _, cc := range caches {
		b.Run(cc.name, func(b *testing.B) {
			c := cc.make(b, prebuilt{body1K})
			url := "http://api.example.com/v1/items?id=42"
			get(b, c, url)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					get(b, c, url)
				}
			})
			report(b)
		})
	}
}

// BenchmarkMiss: a new URL every time, fetched from a loopback origin and
// stored; Uncached is the same requests without a cache.
func BenchmarkMiss(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for k, v := range header() {
			w.Header()[k] = v
		}
		w.Write(body1K)
	}))
	defer srv.Close()
	b.Run("uncached", func(b *testing.B) {
		c := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			get(b, c, srv.URL+"/item/"+strconv.Itoa(i))
			i++
		}
		report(b)
	})
	for _, cc := range caches {
		b.Run(cc.name, func(b *testing.B) {
			c := cc.make(b, http.DefaultTransport.(*http.Transport).Clone())
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				get(b, c, srv.URL+"/item/"+strconv.Itoa(i))
				i++
			}
			report(b)
		})
	}
}

// counting counts the requests that reach the upstream.
type counting struct {
	http.RoundTripper
	n int
}

func (c *counting) RoundTrip(req *http.Request) (*http.Response, error) {
	c.n++
	return c.RoundTripper.RoundTrip(req)
}

// TestEveryCacheHits makes sure the hit benchmarks compare hits: each
// cache must answer the second request without reaching the upstream.
func TestEveryCacheHits(t *testing.T) {
	for _, cc := range caches {
		t.Run(cc.name, func(t *testing.T) {
			up := &counting{RoundTripper: prebuilt{body1K}}
			c := cc.make(t, up)
			for range 3 {
				resp, err := c.Get("http://api.example.com/v1/items?id=42")
				if err != nil {
					t.Fatal(err)
				}
				got, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if !bytes.Equal(got, body1K) {
					t.Fatalf("body of %d bytes, want %d", len(got), len(body1K))
				}
			}
			if up.n != 1 {
				t.Fatalf("%s: upstream reached %d times for 3 requests, want 1", cc.name, up.n)
			}
		})
	}
}
