package otel_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/reqcache/reqcache/config"
	reqotel "github.com/reqcache/reqcache/contrib/otel"
	"github.com/reqcache/reqcache/session"
)

func TestSpansAndMetrics(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "0123456789")
	}))
	defer srv.Close()

	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	o, err := reqotel.New(reqotel.WithMeterProvider(mp))
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.Memory.MaxSizeMB, cfg.Memory.Shards = 8, 8
	cfg.ExpireAfter = config.After(time.Hour)
	s, err := session.New(cfg, session.WithObserver(o))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	// A span in the request's context, as otelhttp's transport in front of
	// the cache makes one.
	tracer := tp.Tracer("test")
	for i := 0; i < 3; i++ {
		ctx, span := tracer.Start(context.Background(), "GET")
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/a", nil)
		resp, err := s.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		span.End()
	}
	ended := spans.Ended()
	if len(ended) != 3 {
		t.Fatalf("%d spans", len(ended))
	}
	want := []string{"miss", "hit", "hit"}
	for i, sp := range ended {
		attrs := map[attribute.Key]attribute.Value{}
		for _, kv := range sp.Attributes() {
			attrs[kv.Key] = kv.Value
		}
		if attrs["reqcache.outcome"].AsString() != want[i] || attrs["reqcache.from_cache"].AsBool() != (i > 0) ||
			len(attrs["reqcache.key"].AsString()) != 12 || attrs["reqcache.cache_status"].AsString() == "" {
			t.Fatalf("span %d attributes: %v", i, sp.Attributes())
		}
		if ttl := attrs["reqcache.ttl_seconds"].AsInt64(); ttl < 3500 || ttl > 3600 {
			t.Fatalf("span %d ttl %d", i, ttl)
		}
	}

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	sums := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if data, ok := m.Data.(metricdata.Sum[int64]); ok {
				for _, dp := range data.DataPoints {
					key := m.Name
					if v, ok := dp.Attributes.Value("reqcache.outcome"); ok {
						key += "/" + v.AsString()
					}
					sums[key] += dp.Value
				}
			}
		}
	}
	if sums["reqcache.requests/hit"] != 2 || sums["reqcache.requests/miss"] != 1 || sums["reqcache.cache.bytes_served"] != 20 {
		t.Fatalf("metric sums %v", sums)
	}
}
