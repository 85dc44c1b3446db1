package prometheus_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/reqcache/reqcache"
	reqprom "github.com/reqcache/reqcache/contrib/prometheus"
)

func Example() {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "data") }))
	defer api.Close()

	c := reqprom.New()
	reg := prometheus.NewRegistry() // prometheus.MustRegister(c) in a program
	reg.MustRegister(c)
	if err := reqcache.Install(reqcache.WithObserver(c)); err != nil {
		panic(err)
	}
	defer reqcache.Uninstall()
	for i := 0; i < 3; i++ {
		resp, err := http.Get(api.URL + "/v1/items")
		if err != nil {
			panic(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	// What /metrics would show (promhttp.HandlerFor(reg, ...)).
	n, _ := testutil.GatherAndCount(reg, "reqcache_requests_total")
	fmt.Println("outcomes seen:", n)
	fmt.Println("hits:", testutil.ToFloat64(c.Requests("hit")), "misses:", testutil.ToFloat64(c.Requests("miss")))
	// Output:
	// outcomes seen: 2
	// hits: 2 misses: 1
}
