// Command mongo shows reqcache's persistent cache: it installs from
// reqcache.toml (tiered: bigcache in front of MongoDB), fetches a URL,
// uninstalls, installs again, and gets the response from MongoDB — the
// cache outlived the installation, as it outlives the process.
//
//	go run ./examples/mongo -config examples/mongo/reqcache.toml
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/reqcache/reqcache"
	"github.com/reqcache/reqcache/session"
)

func main() {
	configPath := flag.String("config", "examples/mongo/reqcache.toml", "reqcache TOML file")
	flag.Parse()

	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(200 * time.Millisecond)
		fmt.Fprintf(w, "report generated at %s", time.Now().Format(time.RFC3339Nano))
	}))
	defer origin.Close()
	// The origin's port changes every run; a fixed path on it is enough to
	// show the round trip through MongoDB within this run.
	url := origin.URL + "/reports/daily"

	for round := 1; round <= 2; round++ {
		if err := reqcache.Install(reqcache.WithConfigFile(*configPath)); err != nil {
			log.Fatal(err)
		}
		start := time.Now()
		resp, err := http.Get(url)
		if err != nil {
			log.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Printf("installation %d: %-5v in %-9s %s\n  %s\n", round, session.InfoOf(resp).FromCache,
			time.Since(start).Round(time.Microsecond), resp.Header.Get("Cache-Status"), body)
		n, _ := reqcache.Installed().Cache().Len(context.Background())
		fmt.Printf("  MongoDB holds %d response(s)\n", n)
		if err := reqcache.Uninstall(); err != nil {
			log.Fatal(err)
		}
	}
}
