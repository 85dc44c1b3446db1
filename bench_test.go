package reqcache_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/reqcache/reqcache"
	"github.com/reqcache/reqcache/config"
)

// The benchmarks compare a cache hit with two baselines measured in the
// same run:
//
//   - Floor: a RoundTripper answering every request with a fresh copy of
//     one prebuilt response, the cost of http.Client itself;
//   - Uncached: the same request to a loopback httptest.Server.
//
// Report ratios (Hit/Floor, Miss/Uncached), never absolute times: see
// README "Performance" for the command that prints them.

var body1K = bytes.Repeat([]byte("0123456789abcdef"), 64)

func benchHeader() http.Header {
	return http.Header{
		"Content-Type":  {"application/json"},
		"Date":          {"Mon, 23 Nov 2026 10:00:00 GMT"},
		"Server":        {"bench"},
		"Cache-Control": {"public"},
		"Etag":          {`"abc123"`},
		"Vary":          {"Accept-Encoding"},
	}
}

// prebuilt answers every request with a fresh copy of one response.
type prebuilt struct {
	status int
	header http.Header
	body   []byte
}

func (p *prebuilt) RoundTrip(req *http.Request) (*http.Response, error) {
	return &http.Response{
		Status:        "200 OK",
		StatusCode:    p.status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        p.header.Clone(),
		Body:          io.NopCloser(bytes.NewReader(p.body)),
		ContentLength: int64(len(p.body)),
		Request:       req,
	}, nil
}

func benchOrigin(b *testing.B, body []byte) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for k, v := range benchHeader() {
			w.Header()[k] = v
		}
		w.Write(body)
	}))
	b.Cleanup(srv.Close)
	return srv
}

func getAll(b *testing.B, c *http.Client, url string) {
	resp, err := c.Get(url)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
}

func installForBench(b *testing.B, edit func(*config.Config)) {
	cfg := config.Default()
	cfg.Memory.MaxSizeMB = 64
	if edit != nil {
		edit(cfg)
	}
	if err := reqcache.Install(reqcache.WithConfig(cfg)); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { reqcache.Uninstall() })
}

func BenchmarkFloor(b *testing.B) {
	c := &http.Client{Transport: &prebuilt{status: 200, header: benchHeader(), body: body1K}}
	b.ReportAllocs()
	for b.Loop() {
		getAll(b, c, "http://api.example.com/v1/items?id=42&page=1")
	}
}

func BenchmarkHit(b *testing.B) {
	srv := benchOrigin(b, body1K)
	installForBench(b, nil)
	url := srv.URL + "/v1/items?id=42&page=1"
	getAll(b, http.DefaultClient, url)
	b.ReportAllocs()
	for b.Loop() {
		getAll(b, http.DefaultClient, url)
	}
}

func BenchmarkHit64K(b *testing.B) {
	srv := benchOrigin(b, bytes.Repeat(body1K, 64))
	installForBench(b, nil)
	url := srv.URL + "/v1/big"
	getAll(b, http.DefaultClient, url)
	b.ReportAllocs()
	for b.Loop() {
		getAll(b, http.DefaultClient, url)
	}
}

func BenchmarkHitParallel(b *testing.B) {
	srv := benchOrigin(b, body1K)
	installForBench(b, nil)
	url := srv.URL + "/v1/items?id=42&page=1"
	getAll(b, http.DefaultClient, url)
	c := http.DefaultClient
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			getAll(b, c, url)
		}
	})
}

// BenchmarkUncached is the baseline of the miss path: the same distinct
// URLs as BenchmarkMiss, through a transport configured like
// http.DefaultTransport, with no cache.
func BenchmarkUncached(b *testing.B) {
	srv := benchOrigin(b, body1K)
	c := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	urls := missURLs(srv.URL)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		getAll(b, c, urls[i%len(urls)])
		i++
	}
}

func missURLs(base string) []string {
	urls := make([]string, 0, 1<<16)
	for i := 0; i < cap(urls); i++ {
		urls = append(urls, base+"/v1/items?id="+strings.Repeat("x", i%7)+itoa(i))
	}
	return urls
}

// BenchmarkMiss is the full miss path: every request is for a URL never
// seen, so it is looked up, fetched and stored. It measures the steady
// state of a long-running program: the memory store is filled first, so
// each store evicts an old entry (the first fill of a store also pays for
// the operating system handing it fresh memory, once). Compare with
// Uncached.
func BenchmarkMiss(b *testing.B) {
	srv := benchOrigin(b, body1K)
	installForBench(b, func(c *config.Config) { c.Memory.MaxSizeMB = 16 })
	c := http.DefaultClient
	for _, u := range missURLs(srv.URL + "/warm")[:1<<14] {
		getAll(b, c, u)
	}
	urls := missURLs(srv.URL)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		getAll(b, c, urls[i%len(urls)])
		i++
	}
}

func itoa(i int) string {
	const digits = "0123456789"
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{digits[i%10]}, b...)
	}
	return string(b)
}
