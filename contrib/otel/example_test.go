package otel_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/reqcache/reqcache"
	reqotel "github.com/reqcache/reqcache/contrib/otel"
)

func Example() {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "data") }))
	defer api.Close()

	reader := sdkmetric.NewManualReader() // a periodic OTLP exporter in a program
	o, err := reqotel.New(reqotel.WithMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))))
	if err != nil {
		panic(err)
	}
	if err := reqcache.Install(reqcache.WithObserver(o)); err != nil {
		panic(err)
	}
	defer reqcache.Uninstall()
	// With otelhttp, wrap the installed transport so every request has a
	// span the cache annotates:
	//   client := &http.Client{Transport: otelhttp.NewTransport(http.DefaultTransport)}
	for i := 0; i < 3; i++ {
		resp, err := http.Get(api.URL + "/v1/items")
		if err != nil {
			panic(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	var rm metricdata.ResourceMetrics
	reader.Collect(context.Background(), &rm)
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != "reqcache.requests" {
				continue
			}
			var hits, misses int64
			for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
				switch v, _ := dp.Attributes.Value("reqcache.outcome"); v.AsString() {
				case "hit":
					hits = dp.Value
				case "miss":
					misses = dp.Value
				}
			}
			fmt.Println("hits:", hits, "misses:", misses)
		}
	}
	// Output: hits: 2 misses: 1
}
