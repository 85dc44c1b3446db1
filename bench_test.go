package reqcache_test

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/reqcache/reqcache"
	"github.com/reqcache/reqcache/config"
	"github.com/reqcache/reqcache/session"
)

// The benchmarks compare a cache hit with two baselines measured in the
// same run:
//
//   - Floor: a RoundTripper answering every request with a fresh copy of
//     one prebuilt response, the cost of http.Client itself;
//   - Uncached: the same request to a loopback httptest.Server.
//
// Each benchmark reports its ratio to its baseline as a metric: x-floor
// (time per op / Floor's), x-uncached (Miss / Uncached) and, for parallel
// runs, x-single (single-goroutine time per op / parallel time per op: the
// throughput gained from every core). Hit, Hit64K, HitZeroClient and
// MissCPU measure x-floor in alternating rounds after their timed loop
// (reportInterleaved); MissPaired alternates too; the other baselines are
// measured once, by TestMain, before any benchmark runs (testing.Benchmark
// cannot run inside a benchmark). Compare ratios, never absolute times: see
// docs/performance.md.

// baselines holds the baselines' ns/op, zero when not measured.
var baselines struct {
	floor, hit, hitFilled, uncached float64
}

// measureBaselines fills baselines when the run has benchmarks.
func measureBaselines() {
	if f := flag.Lookup("test.bench"); f == nil || f.Value.String() == "" {
		return
	}
	ns := func(bench func(*testing.B)) float64 {
		r := testing.Benchmark(bench)
		if r.N == 0 {
			return 0
		}
		return float64(r.T.Nanoseconds()) / float64(r.N)
	}
	baselines.floor = ns(BenchmarkFloor)
	baselines.hit = ns(BenchmarkHit)
	baselines.hitFilled = ns(BenchmarkHitFilledStore)
	baselines.uncached = ns(BenchmarkUncached)
}

// The rounds reportInterleaved runs, and the subject requests they make.
const interleavedRounds, interleavedRequests = 2001, 2001 * 32

// reportInterleaved reports x-floor as measured in the same process
// moments apart, so that a busy machine moves both sides alike: rounds of
// floor requests and of subject requests alternate, and the metric is the
// median of the per-round ratios (a 5% change shows; a floor measured once,
// seconds earlier, drifted ±30%). It runs after b's timed loop, on its own
// clock.
func reportInterleaved(b *testing.B, subject func()) {
	floorClient := &http.Client{Transport: &prebuilt{status: 200, header: benchHeader(), body: body1K}}
	floor := func() { getAll(b, floorClient, "http://api.example.com/v1/items?id=42&page=1") }
	reportInterleavedWith(b, floor, subject, "x-floor")
}

// reportInterleavedWith is reportInterleaved against another floor,
// reported as unit.
func reportInterleavedWith(b *testing.B, floor, subject func(), unit string) {
	if b.N < 2 {
		return
	}
	const rounds, perRound = interleavedRounds, interleavedRequests / interleavedRounds
	ratios := make([]float64, 0, rounds)
	for r := 0; r < rounds; r++ {
		start := time.Now()
		for i := 0; i < perRound; i++ {
			floor()
		}
		mid := time.Now()
		for i := 0; i < perRound; i++ {
			subject()
		}
		ratios = append(ratios, float64(time.Since(mid))/float64(mid.Sub(start)))
	}
	slices.Sort(ratios)
	b.ReportMetric(ratios[rounds/2], unit)
}

// BenchmarkHitSameAnswer compares a hit with the floor that hands back the
// same answer (issue 39): a RoundTripper returning a fresh copy of exactly
// the header fields and body the hit returns — the stored fields and the
// cache's own (Cache-Status, X-From-Cache, Age, which are the contract) —
// for a 1 KiB body stored with 4 header fields and with 7. x-same is the
// median of interleaved rounds (reportInterleavedWith); same-allocs is the
// floor's allocations per request, beside the hit's allocs/op.
func BenchmarkHitSameAnswer(b *testing.B) {
	for _, fields := range []int{4, 7} {
		b.Run(fmt.Sprintf("fields=%d", fields), func(b *testing.B) {
			extra := http.Header{"Etag": {`"abc123"`}, "Server": {"bench"}, "Vary": {"Accept-Encoding"}}
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				// 4: Content-Type, Cache-Control, and the Date and
				// Content-Length net/http adds; 7: three more.
				w.Header().Set("Content-Type", "application/json")
				w.Header().Set("Cache-Control", "public, max-age=3600")
				if fields == 7 {
					for k, v := range extra {
						w.Header()[k] = v
					}
				}
				w.Write(body1K)
			}))
			b.Cleanup(srv.Close)
			installForBench(b, nil)
			url := srv.URL + "/v1/items?id=42"
			getAll(b, http.DefaultClient, url)
			resp, err := http.Get(url)
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if !session.InfoOf(resp).FromCache {
				b.Fatal("the second request was not a hit")
			}
			same := &http.Client{Transport: &prebuilt{status: 200, header: resp.Header.Clone(), body: body1K}}
			floor := func() { getAll(b, same, url) }
			hitLoop(b, url)
			b.ReportMetric(testing.AllocsPerRun(1000, floor), "same-allocs")
			reportInterleavedWith(b, floor, func() { getAll(b, http.DefaultClient, url) }, "x-same")
		})
	}
}

// reportRatio reports b's time per op divided by base as metric unit, or,
// with inverse, base divided by it.
func reportRatio(b *testing.B, base float64, unit string, inverse bool) {
	if base <= 0 || b.N == 0 {
		return
	}
	perOp := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	if inverse {
		b.ReportMetric(base/perOp, unit)
	} else {
		b.ReportMetric(perOp/base, unit)
	}
}

// plainTransport is http.DefaultTransport as it was before any Install.
var plainTransport = http.DefaultTransport.(*http.Transport)

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
	reportRatio(b, baselines.floor, "x-floor", false)
}

// BenchmarkFloorParallel is the floor from every core: how far http.Client
// itself scales on this machine (x-single).
func BenchmarkFloorParallel(b *testing.B) {
	c := &http.Client{Transport: &prebuilt{status: 200, header: benchHeader(), body: body1K}}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			getAll(b, c, "http://api.example.com/v1/items?id=42&page=1")
		}
	})
	reportRatio(b, baselines.floor, "x-single", true)
}

func BenchmarkHit(b *testing.B) {
	url := hitSetup(b, false)
	hitLoop(b, url)
	reportInterleaved(b, func() { getAll(b, http.DefaultClient, url) })
}

func BenchmarkHit64K(b *testing.B) {
	srv := benchOrigin(b, bytes.Repeat(body1K, 64))
	installForBench(b, nil)
	url := srv.URL + "/v1/big"
	getAll(b, http.DefaultClient, url)
	hitLoop(b, url)
	reportInterleaved(b, func() { getAll(b, http.DefaultClient, url) })
}

// BenchmarkHitZeroClient is Hit through a zero http.Client, which sends
// through http.DefaultTransport (the *http.Transport Install puts in place,
// answered by the session through a registered protocol).
func BenchmarkHitZeroClient(b *testing.B) {
	url := hitSetup(b, false)
	c := &http.Client{}
	b.ReportAllocs()
	for b.Loop() {
		getAll(b, c, url)
	}
	reportInterleaved(b, func() { getAll(b, c, url) })
}

// BenchmarkHitParallel is Hit from every core; x-single is its throughput
// over Hit's.
func BenchmarkHitParallel(b *testing.B) {
	url := hitSetup(b, false)
	hitParallel(b, url)
	reportRatio(b, baselines.hit, "x-single", true)
	reportRatio(b, baselines.floor, "x-floor", false)
}

// BenchmarkHitFilledStore is Hit with a store that holds 16,384 other
// responses (~28 MiB), as a cache in use does. The garbage collector then
// runs far less often than beside a store of one entry (its pace follows
// the live heap), so compare it with HitFilledStoreParallel, not with the
// floor.
func BenchmarkHitFilledStore(b *testing.B) {
	url := hitSetup(b, true)
	hitLoop(b, url)
}

// BenchmarkHitFilledStoreParallel is HitFilledStore from every core;
// x-single is its throughput over HitFilledStore's.
func BenchmarkHitFilledStoreParallel(b *testing.B) {
	url := hitSetup(b, true)
	hitParallel(b, url)
	reportRatio(b, baselines.hitFilled, "x-single", true)
}

// hitSetup installs the cache (filled first when filled) and stores the
// response a hit benchmark asks for; it returns that URL.
func hitSetup(b *testing.B, filled bool) string {
	srv := benchOrigin(b, body1K)
	installForBench(b, nil)
	if filled {
		fillStore(b, http.DefaultClient, srv.URL)
	}
	url := srv.URL + "/v1/items?id=42&page=1"
	getAll(b, http.DefaultClient, url)
	return url
}

// hitLoop asks for url on one goroutine; b.Loop leaves the setup untimed.
func hitLoop(b *testing.B, url string) {
	b.ReportAllocs()
	for b.Loop() {
		getAll(b, http.DefaultClient, url)
	}
}

// hitParallel asks for url from every core, the setup untimed.
func hitParallel(b *testing.B, url string) {
	b.ReportAllocs()
	b.ResetTimer() // the setup, and filling the store, are not hits
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			getAll(b, http.DefaultClient, url)
		}
	})
}

// BenchmarkUncached is the baseline of the miss path: the same distinct
// URLs as BenchmarkMiss, through a transport configured like
// http.DefaultTransport, with no cache.
func BenchmarkUncached(b *testing.B) {
	srv := benchOrigin(b, body1K)
	c := &http.Client{Transport: plainTransport.Clone()}
	urls := missURLs(srv.URL)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		getAll(b, c, urls[i%len(urls)])
		i++
	}
	reportRatio(b, baselines.uncached, "x-uncached", false)
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
	missLoop(b, http.DefaultClient, srv.URL)
	reportRatio(b, baselines.uncached, "x-uncached", false)
}

// fillStore makes c store 16,384 distinct responses under base, so that
// the misses measured next find the store full, as in a long-running
// program.
func fillStore(b *testing.B, c *http.Client, base string) {
	for _, u := range missURLs(base + "/warm")[:1<<14] {
		getAll(b, c, u)
	}
}

// missLoop fills the store, then requests a URL never seen under base on
// every iteration.
func missLoop(b *testing.B, c *http.Client, base string) {
	fillStore(b, c, base)
	urls := missURLs(base)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		getAll(b, c, urls[i%len(urls)])
		i++
	}
}

// BenchmarkMissCPU is the miss path without a network: the upstream is the
// floor's in-process RoundTripper, so what it adds to the floor is
// reqcache's own work per miss (key, lookups, reading and storing the
// body), with the store filled first as in BenchmarkMiss.
func BenchmarkMissCPU(b *testing.B) {
	cfg := config.Default()
	cfg.Memory.MaxSizeMB = 16
	s, err := session.New(cfg, session.WithUpstream(&prebuilt{status: 200, header: benchHeader(), body: body1K}))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	c := s.Client()
	missLoop(b, c, "http://api.example.com")
	late := make([]string, interleavedRequests) // URLs never asked for, made before the rounds
	for i := range late {
		late[i] = "http://api.example.com/late/" + itoa(i)
	}
	n := 0
	reportInterleaved(b, func() { getAll(b, c, late[n]); n++ })
}

// BenchmarkMissPaired is the miss overhead measured so that a noisy machine
// cannot skew it: chunks of 32 uncached requests and 32 requests through
// the client under test alternate in one loop, against one origin, and
// x-uncached is the second kind's mean time over the first's. Its ns/op is
// the mean of both kinds. Three clients are measured, to show where the
// overhead comes from:
//
//   - layer: a RoundTripper that only reads each body before returning it,
//     as any cache that stores bodies must (the cost of being a layer);
//   - read_only: reqcache with read_only = true (key, lookups, reading the
//     body, building the response; nothing stored);
//   - store: reqcache storing every response, the full miss (as in
//     BenchmarkMiss, the store is filled first).
func BenchmarkMissPaired(b *testing.B) {
	b.Run("layer", func(b *testing.B) {
		srv := benchOrigin(b, body1K)
		pairedLoop(b, srv.URL, &http.Client{Transport: bufferingLayer{plainTransport.Clone()}})
	})
	b.Run("read_only", func(b *testing.B) {
		srv := benchOrigin(b, body1K)
		installForBench(b, func(c *config.Config) { c.Memory.MaxSizeMB = 16; c.ReadOnly = true })
		pairedLoop(b, srv.URL, http.DefaultClient)
	})
	b.Run("store", func(b *testing.B) {
		srv := benchOrigin(b, body1K)
		installForBench(b, func(c *config.Config) { c.Memory.MaxSizeMB = 16 })
		fillStore(b, http.DefaultClient, srv.URL)
		pairedLoop(b, srv.URL, http.DefaultClient)
	})
}

// pairedLoop alternates chunks of requests for distinct URLs under base
// through an uncached client and through c; see BenchmarkMissPaired.
func pairedLoop(b *testing.B, base string, c *http.Client) {
	direct := &http.Client{Transport: plainTransport.Clone()}
	getAll(b, direct, base+"/warm")
	clients := [2]*http.Client{direct, c}
	urls := [2][]string{missURLs(base + "/direct"), missURLs(base + "/cached")}
	const chunk = 32
	var spent [2]time.Duration
	var count [2]int
	b.ReportAllocs()
	i, kind := 0, 0
	start := time.Now()
	for b.Loop() {
		if i > 0 && i%chunk == 0 {
			now := time.Now()
			spent[kind] += now.Sub(start)
			start, kind = now, 1-kind
		}
		getAll(b, clients[kind], urls[kind][count[kind]%len(urls[kind])])
		count[kind]++
		i++
	}
	spent[kind] += time.Since(start)
	if count[0] > 0 && count[1] > 0 {
		mean := func(k int) float64 { return float64(spent[k].Nanoseconds()) / float64(count[k]) }
		b.ReportMetric(mean(1)/mean(0), "x-uncached")
		b.ReportMetric(mean(1), "miss-ns/op")
		b.ReportMetric(mean(0), "uncached-ns/op")
	}
}

// bufferingLayer reads every response body before returning the response,
// and does nothing else.
type bufferingLayer struct{ next http.RoundTripper }

func (l bufferingLayer) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := l.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
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
