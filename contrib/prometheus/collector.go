// Package prometheus exports what a reqcache session does as Prometheus
// metrics. It is a module of its own, so that reqcache's users who do not
// use Prometheus never download its client.
//
//	c := reqprom.New()
//	prometheus.MustRegister(c)
//	reqcache.Install(reqcache.WithObserver(c)) // or session.New(cfg, session.WithObserver(c))
//
// Metrics:
//
//	reqcache_requests_total{outcome}                  requests by outcome: hit, stale, revalidated, miss, bypass, gateway-timeout, error
//	reqcache_cache_bytes_served_total                 body bytes answered from the cache
//	reqcache_request_duration_seconds{outcome}        RoundTrip time, until the response header
//	reqcache_store_operation_duration_seconds{op}     store operations (get, peek, set, delete, ...) and their latency
//	reqcache_store_errors_total{op}                   store operations that failed
//	reqcache_corrupt_entries_total                    stored entries that could not be decoded (deleted)
//	reqcache_entries                                  responses held by the store (read at scrape time)
//	reqcache_store_bytes                              bytes the store holds, as it counts them: memory entries, MongoDB collection size (no scan)
//
// The counters read from the session (corrupt entries) restart from zero
// when reqcache is installed again, as a process's counters do when it
// restarts; rate() and increase() handle that.
package prometheus

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/reqcache/reqcache"
	"github.com/reqcache/reqcache/session"
)

// Collector is a session.Observer and a prometheus.Collector.
type Collector struct {
	requests    *prometheus.CounterVec
	durations   *prometheus.HistogramVec
	bytes       prometheus.Counter
	storeOps    *prometheus.HistogramVec
	storeErrors *prometheus.CounterVec
	corrupt     *prometheus.Desc
	entries     *prometheus.Desc
	bytesHeld   *prometheus.Desc
	session     func() *session.Session
	timeout     time.Duration
}

// New returns a Collector. Register it with a prometheus.Registerer and
// pass it to reqcache.WithObserver or session.WithObserver. It reads the
// entries held and the corrupt count from whatever session is installed
// (reqcache.Installed, which follows reinstalls), or from the one ReadFrom
// names.
func New() *Collector {
	c := &Collector{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "reqcache_requests_total", Help: "Requests through the cache, by outcome.",
		}, []string{"outcome"}),
		durations: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "reqcache_request_duration_seconds", Help: "Time until the response header, by outcome.",
			Buckets: []float64{.0001, .0005, .001, .005, .01, .05, .1, .5, 1, 5},
		}, []string{"outcome"}),
		bytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "reqcache_cache_bytes_served_total", Help: "Body bytes answered from the cache.",
		}),
		storeOps: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "reqcache_store_operation_duration_seconds", Help: "Store operations and their latency, by operation.",
			Buckets: []float64{.00001, .0001, .0005, .001, .005, .01, .05, .1, .5, 1},
		}, []string{"op"}),
		storeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "reqcache_store_errors_total", Help: "Store operations that failed, by operation.",
		}, []string{"op"}),
		corrupt:   prometheus.NewDesc("reqcache_corrupt_entries_total", "Stored entries that could not be decoded (deleted).", nil, nil),
		entries:   prometheus.NewDesc("reqcache_entries", "Responses held by the store.", nil, nil),
		bytesHeld: prometheus.NewDesc("reqcache_store_bytes", "Bytes the store holds, as it counts them (memory: its entries; MongoDB: collection size).", nil, nil),
		session:   reqcache.Installed,
		timeout:   time.Second,
	}
	return c
}

// ReadFrom makes the collector read the entries held and the corrupt count
// from s, a session made with session.WithObserver(c), rather than from the
// installed one.
func (c *Collector) ReadFrom(s *session.Session) *Collector {
	c.session = func() *session.Session { return s }
	return c
}

// Requests is the counter of requests with the given outcome (for tests
// and for reading a count in a program).
func (c *Collector) Requests(outcome string) prometheus.Counter {
	return c.requests.WithLabelValues(outcome)
}

// ObserveRequest implements session.Observer.
func (c *Collector) ObserveRequest(_ context.Context, e session.RequestEvent) {
	c.requests.WithLabelValues(e.Outcome).Inc()
	c.durations.WithLabelValues(e.Outcome).Observe(e.Duration.Seconds())
	if e.Bytes > 0 {
		c.bytes.Add(float64(e.Bytes))
	}
}

// ObserveStore implements session.Observer.
func (c *Collector) ObserveStore(_ context.Context, e session.StoreEvent) {
	c.storeOps.WithLabelValues(e.Op).Observe(e.Duration.Seconds())
	if e.Err != nil {
		c.storeErrors.WithLabelValues(e.Op).Inc()
	}
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	c.requests.Describe(ch)
	c.durations.Describe(ch)
	c.bytes.Describe(ch)
	c.storeOps.Describe(ch)
	c.storeErrors.Describe(ch)
	ch <- c.corrupt
	ch <- c.entries
	ch <- c.bytesHeld
}

// Collect implements prometheus.Collector. The entries held are counted by
// the store (bigcache's own count, MongoDB's count of documents), at most
// one second per scrape; a store that does not answer leaves the metric
// out rather than failing the scrape.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	c.requests.Collect(ch)
	c.durations.Collect(ch)
	c.bytes.Collect(ch)
	c.storeOps.Collect(ch)
	c.storeErrors.Collect(ch)
	s := c.session()
	if s == nil {
		return
	}
	ch <- prometheus.MustNewConstMetric(c.corrupt, prometheus.CounterValue, float64(s.Stats().Corrupt))
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	if n, err := s.Cache().Len(ctx); err == nil {
		ch <- prometheus.MustNewConstMetric(c.entries, prometheus.GaugeValue, float64(n))
	}
	if n, ok, _ := s.Cache().Bytes(ctx); ok {
		ch <- prometheus.MustNewConstMetric(c.bytesHeld, prometheus.GaugeValue, float64(n))
	}
}
