// Command toml shows reqcache configured entirely from a TOML file:
// per-URL expirations, a never-cached path, 404s cached, and an API key
// that neither splits the cache nor is stored in the clear.
//
//	go run ./examples/toml
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/reqcache/reqcache"
	"github.com/reqcache/reqcache/examples/internal/demo"
	"github.com/reqcache/reqcache/session"
)

func main() {
	configPath := flag.String("config", findConfig("toml"), "reqcache TOML file")
	delay := flag.Duration("delay", 50*time.Millisecond, "how slow the origin is")
	flag.Parse()
	origin := demo.NewOrigin(*delay, func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/missing") {
			http.NotFound(w, r)
			return
		}
		fmt.Fprintf(w, "%s at %s", r.URL.Path, time.Now().Format(time.RFC3339Nano))
	})
	defer origin.Close()

	if err := reqcache.Install(reqcache.WithConfigFile(*configPath)); err != nil {
		log.Fatal(err) // a bad file is reported as file:line: key: problem
	}
	defer reqcache.Uninstall()
	ctx := context.Background()

	for _, path := range []string{"/prices/btc", "/static/logo", "/users/1", "/live/feed", "/missing/page"} {
		fmt.Printf("%s, twice:\n", path)
		demo.Fetch(ctx, http.DefaultClient, origin.URL+path)
		resp, _ := demo.Fetch(ctx, http.DefaultClient, origin.URL+path)
		info := session.InfoOf(resp)
		expires := "never"
		if !info.Expires.IsZero() {
			expires = "in " + time.Until(info.Expires).Round(time.Second).String()
		}
		fmt.Printf("  cached: %v, expires %s\n\n", info.FromCache, expires)
		demo.Check(info.FromCache == (path != "/live/feed"), "%s: from cache %v", path, info.FromCache)
	}
	demo.Check(origin.Requests() == 6, "origin requests %d, want 6 (one per path, two for /live)", origin.Requests())

	fmt.Println("/search with two different api_key values:")
	demo.Fetch(ctx, http.DefaultClient, origin.URL+"/search?q=go&api_key=first-secret")
	resp, _ := demo.Fetch(ctx, http.DefaultClient, origin.URL+"/search?api_key=second-secret&q=go")
	demo.Check(session.InfoOf(resp).FromCache, "the api_key split the cache")
	urls, err := reqcache.Installed().Cache().URLs(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("\nstored URLs (normalized, credentials redacted):")
	for _, u := range urls {
		fmt.Println(" ", u)
		demo.Check(!strings.Contains(u, "secret"), "a credential was stored: %s", u)
	}
	fmt.Printf("\norigin requests: %d\n", origin.Requests())
}

// findConfig locates the example's TOML file from the repository root or
// from the example's own directory.
func findConfig(example string) string {
	for _, p := range []string{"examples/" + example + "/reqcache.toml", "reqcache.toml"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return "examples/" + example + "/reqcache.toml"
}
