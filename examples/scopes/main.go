// Command scopes shows reqcache's scoped contexts, the Go form of
// requests-cache's cache_disabled: reqcache.Disabled(ctx) bypasses the cache
// for every request made with that context (or one derived from it), and
// reqcache.Enabled(ctx) turns it back on inside such a scope.
//
//	go run ./examples/scopes
package main

import (
	"context"
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
	delay := flag.Duration("delay", 50*time.Millisecond, "how slow the origin is")
	flag.Parse()
	origin := demo.NewOrigin(*delay, nil)
	defer origin.Close()
	if err := reqcache.Install(reqcache.WithConfig(config.Default())); err != nil {
		log.Fatal(err)
	}
	defer reqcache.Uninstall()
	url := origin.URL + "/report"
	ctx := context.Background()

	fmt.Println("Cached as usual:")
	demo.Fetch(ctx, http.DefaultClient, url)
	demo.Fetch(ctx, http.DefaultClient, url)
	demo.Check(origin.Requests() == 1, "origin requests %d, want 1", origin.Requests())

	fmt.Println("Inside reqcache.Disabled(ctx): every request goes to the origin, nothing is stored:")
	off := reqcache.Disabled(ctx)
	demo.Fetch(off, http.DefaultClient, url)
	demo.Fetch(off, http.DefaultClient, origin.URL+"/only-while-disabled")
	demo.Check(origin.Requests() == 3, "origin requests %d, want 3", origin.Requests())

	fmt.Println("reqcache.Enabled inside the disabled scope: cached again:")
	on := reqcache.Enabled(off)
	demo.Fetch(on, http.DefaultClient, url)
	demo.Check(origin.Requests() == 3, "origin requests %d, want 3", origin.Requests())

	fmt.Println("A URL fetched only while disabled was not stored:")
	demo.Fetch(ctx, http.DefaultClient, origin.URL+"/only-while-disabled")
	demo.Check(origin.Requests() == 4, "origin requests %d, want 4", origin.Requests())

	fmt.Printf("\norigin requests: %d\n", origin.Requests())
}
