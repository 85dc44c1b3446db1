// Command debugpage is a small service with reqcache installed and its
// debug page mounted, as a long-running program would have it: a loop
// calls a loopback API through plain http.Get (users, a document with an
// ETag, a search that varies by language), and the page shows what the
// cache holds while it runs.
//
//	go run ./examples/debugpage                  # read-only page
//	go run ./examples/debugpage -allow-changes   # with delete and clear
//
// It prints the page's address and runs until interrupted (or for
// -duration).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/signal"
	"time"

	"github.com/reqcache/reqcache"
	"github.com/reqcache/reqcache/config"
	"github.com/reqcache/reqcache/examples/internal/demo"
	"github.com/reqcache/reqcache/session"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:6060", "address of the internal listener the page is on")
	allowChanges := flag.Bool("allow-changes", false, "let the page delete entries and clear the cache")
	every := flag.Duration("every", 100*time.Millisecond, "how often the service calls the API")
	duration := flag.Duration("duration", 0, "stop after this long (0: run until interrupted)")
	delay := flag.Duration("delay", 20*time.Millisecond, "how slow the API is")
	flag.Parse()

	api := demo.NewOrigin(*delay, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/v1/status":
			w.Header().Set("Cache-Control", "max-age=5, stale-while-revalidate=30")
			w.Header().Set("ETag", `"status-1"`)
			if r.Header.Get("If-None-Match") == `"status-1"` {
				w.WriteHeader(http.StatusNotModified)
				return
			}
		case "/v1/search":
			w.Header().Set("Cache-Control", "max-age=120")
			w.Header().Set("Vary", "Accept-Language")
		default:
			w.Header().Set("Cache-Control", "max-age=30")
		}
		fmt.Fprintf(w, `{"path":%q,"query":%q}`, r.URL.Path, r.URL.RawQuery)
	})
	defer api.Close()

	cfg := config.Default()
	// The page never shows these values: the key's value is REDACTED in
	// what is stored, and Authorization on the page too.
	cfg.IgnoredParameters = append(cfg.IgnoredParameters, "api_key")
	if err := reqcache.Install(reqcache.WithConfig(cfg)); err != nil {
		log.Fatal(err)
	}
	defer reqcache.Uninstall()

	var opts []session.HandlerOption
	if *allowChanges {
		opts = append(opts, reqcache.AllowChanges())
	}
	mux := http.NewServeMux()
	mux.Handle("/debug/reqcache/", reqcache.Handler(opts...))
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	fmt.Printf("debug page: http://%s/debug/reqcache/\n", ln.Addr())

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if *duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *duration)
		defer cancel()
	}
	callAPI(ctx, api.URL, *every)
	_ = srv.Shutdown(context.Background())
	fmt.Printf("origin requests: %d\n", api.Requests())
}

// callAPI is the service's work: a few calls every tick, most of them to
// URLs it has called before.
func callAPI(ctx context.Context, api string, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	langs := []string{"en", "de", "fr"}
	for {
		get(ctx, fmt.Sprintf("%s/v1/users/%d?api_key=sk-demo-secret", api, rand.IntN(20)), "")
		get(ctx, api+"/v1/status", "")
		get(ctx, api+"/v1/search?q=cache", langs[rand.IntN(len(langs))])
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func get(ctx context.Context, url, lang string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		log.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer demo-token-secret")
	if lang != "" {
		req.Header.Set("Accept-Language", lang)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return // the context ended
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}
