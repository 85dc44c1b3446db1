// Command thirdparty shows reqcache caching a library it cannot change: the
// "weather SDK" in weatherclient.go calls http.Get, and one
// reqcache.Install at start makes its repeated calls free.
//
//	go run ./examples/thirdparty
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net/http"
	"time"

	"github.com/reqcache/reqcache"
	"github.com/reqcache/reqcache/config"
	"github.com/reqcache/reqcache/examples/internal/demo"
)

func main() {
	delay := flag.Duration("delay", 200*time.Millisecond, "how slow the weather API is")
	flag.Parse()
	api := demo.NewOrigin(*delay, func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{"city": r.URL.Query().Get("city"), "temp_c": 11.5, "summary": "drizzle"})
	})
	defer api.Close()

	cfg := config.Default()
	exp, err := config.ParseExpiration("10m")
	if err != nil {
		log.Fatal(err)
	}
	cfg.ExpireAfter = exp
	if err := reqcache.Install(reqcache.WithConfig(cfg)); err != nil {
		log.Fatal(err)
	}
	defer reqcache.Uninstall()

	for i := range 3 {
		start := time.Now()
		f, err := GetForecast(api.URL, "Lyon")
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("call %d: %s %.1f°C, %s (%s)\n", i+1, f.City, f.TempC, f.Summary, time.Since(start).Round(10*time.Microsecond))
	}
	demo.Check(api.Requests() == 1, "the weather API was called %d times, want 1", api.Requests())
	fmt.Printf("\norigin requests: %d\n", api.Requests())
}
