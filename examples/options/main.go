// Command options shows reqcache's per-request options, set on the
// request's context: OnlyIfCached, Refresh, ForceRefresh and
// WithExpireAfter (requests-cache's only_if_cached, refresh,
// force_refresh and expire_after arguments).
//
//	go run ./examples/options
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/reqcache/reqcache"
	"github.com/reqcache/reqcache/config"
	"github.com/reqcache/reqcache/examples/internal/demo"
	"github.com/reqcache/reqcache/session"
)

func main() {
	delay := flag.Duration("delay", 50*time.Millisecond, "how slow the origin is")
	flag.Parse()
	var notModified atomic.Int64
	origin := demo.NewOrigin(*delay, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"v1"`)
		if r.Header.Get("If-None-Match") == `"v1"` {
			notModified.Add(1)
			w.WriteHeader(http.StatusNotModified)
			return
		}
		fmt.Fprintf(w, "%s, version 1", r.URL.Path)
	})
	defer origin.Close()
	if err := reqcache.Install(reqcache.WithConfig(config.Default())); err != nil {
		log.Fatal(err)
	}
	defer reqcache.Uninstall()
	ctx := context.Background()
	c := http.DefaultClient
	url := origin.URL + "/article"

	fmt.Println("OnlyIfCached before anything is stored: 504, the origin is not asked:")
	resp, _ := demo.Fetch(reqcache.OnlyIfCached(ctx), c, url)
	demo.Check(resp.StatusCode == http.StatusGatewayTimeout && origin.Requests() == 0, "status %d, origin %d", resp.StatusCode, origin.Requests())

	fmt.Println("A plain request stores it; OnlyIfCached now answers from the cache:")
	demo.Fetch(ctx, c, url)
	resp, _ = demo.Fetch(reqcache.OnlyIfCached(ctx), c, url)
	demo.Check(resp.StatusCode == http.StatusOK && origin.Requests() == 1, "status %d, origin %d", resp.StatusCode, origin.Requests())

	fmt.Println("Refresh revalidates: a conditional request, the origin answers 304, the cached body is used:")
	resp, body := demo.Fetch(reqcache.Refresh(ctx), c, url)
	demo.Check(session.InfoOf(resp).Revalidated && notModified.Load() == 1 && body == "/article, version 1", "revalidated %v, 304s %d", session.InfoOf(resp).Revalidated, notModified.Load())

	fmt.Println("ForceRefresh ignores the cache: a full request, stored anew:")
	resp, _ = demo.Fetch(reqcache.ForceRefresh(ctx), c, url)
	demo.Check(!session.InfoOf(resp).FromCache && origin.Requests() == 3 && notModified.Load() == 1, "force refresh was not a full request")

	fmt.Println("WithExpireAfter stores one response with its own expiration:")
	short, err := config.ParseExpiration("2s")
	if err != nil {
		log.Fatal(err)
	}
	resp, _ = demo.Fetch(reqcache.WithExpireAfter(ctx, short), c, origin.URL+"/flash-sale")
	left := time.Until(session.InfoOf(resp).Expires)
	fmt.Printf("  expires in %s\n", left.Round(time.Second))
	demo.Check(left > 0 && left <= 2*time.Second, "expires in %v, want at most 2s", left)

	fmt.Printf("\norigin requests: %d\n", origin.Requests())
}
