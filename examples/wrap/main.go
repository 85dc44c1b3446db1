// Command wrap shows caching one http.Client of your own instead of the
// process-wide default: session.Wrap keeps the client's transport (here one
// that adds an auth header), timeout and redirect policy, and puts the
// cache in front. Nothing global changes: http.DefaultClient is untouched.
//
//	go run ./examples/wrap
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net/http"
	"time"

	"github.com/reqcache/reqcache/config"
	"github.com/reqcache/reqcache/examples/internal/demo"
	"github.com/reqcache/reqcache/session"
)

// authTransport stands for the transport an SDK or your own code already
// has: it adds a token to every request.
type authTransport struct {
	token string
	next  http.RoundTripper
}

func (t authTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+t.token)
	return t.next.RoundTrip(r)
}

func main() {
	delay := flag.Duration("delay", 50*time.Millisecond, "how slow the origin is")
	flag.Parse()
	origin := demo.NewOrigin(*delay, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer t0ken" {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		fmt.Fprintf(w, "hello from %s", r.URL.Path)
	})
	defer origin.Close()

	mine := &http.Client{Timeout: 5 * time.Second, Transport: authTransport{"t0ken", http.DefaultTransport}}
	cached, sess, err := session.Wrap(mine, config.Default())
	if err != nil {
		log.Fatal(err)
	}
	defer sess.Close()
	ctx := context.Background()

	fmt.Println("Through the wrapped client (the auth transport still runs on misses):")
	_, body := demo.Fetch(ctx, cached, origin.URL+"/me")
	demo.Fetch(ctx, cached, origin.URL+"/me")
	demo.Check(body == "hello from /me" && origin.Requests() == 1, "body %q, origin %d", body, origin.Requests())
	demo.Check(cached.Timeout == mine.Timeout, "the timeout was not kept")

	fmt.Println("http.DefaultClient is not cached (and has no token):")
	resp, _ := demo.Fetch(ctx, http.DefaultClient, origin.URL+"/me")
	demo.Check(resp.StatusCode == http.StatusUnauthorized && origin.Requests() == 2, "status %d", resp.StatusCode)

	fmt.Printf("\nsession stats: %+v\norigin requests: %d\n", sess.Stats(), origin.Requests())
}
