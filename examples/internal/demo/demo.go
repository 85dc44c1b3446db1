// Package demo holds what the examples share: a counting loopback origin
// standing in for a slow API, a fetch that prints how each request was
// answered, and a check that makes an example fail loudly when reqcache
// does not behave as the example says.
package demo

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"time"

	"github.com/reqcache/reqcache/session"
)

// Origin is a loopback HTTP server that counts the requests reaching it.
type Origin struct {
	*httptest.Server
	hits atomic.Int64
}

// NewOrigin starts an origin that waits delay, then answers with h (or,
// when h is nil, a small JSON document naming the path and the time).
func NewOrigin(delay time.Duration, h http.HandlerFunc) *Origin {
	o := &Origin{}
	o.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.hits.Add(1)
		time.Sleep(delay)
		if h != nil {
			h(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"path":%q,"served_at":%q}`, r.URL.Path, time.Now().Format(time.RFC3339Nano))
	}))
	return o
}

// Requests is how many requests reached the origin.
func (o *Origin) Requests() int64 { return o.hits.Load() }

// Fetch GETs url through c under ctx, prints one line about how it was
// answered, and returns the response (body read) and its body.
func Fetch(ctx context.Context, c *http.Client, url string) (*http.Response, string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		log.Fatal(err)
	}
	start := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		log.Fatal(err)
	}
	from := "origin"
	switch cs := resp.Header.Get("Cache-Status"); {
	case session.InfoOf(resp).FromCache:
		from = "cache "
	case cs != "" && !strings.Contains(cs, "fwd="):
		from = "reqcache (not sent to the origin)"
	}
	fmt.Printf("  %d from %s in %8s  Cache-Status: %s\n", resp.StatusCode, from, time.Since(start).Round(10*time.Microsecond), resp.Header.Get("Cache-Status"))
	return resp, string(body)
}

// Check stops the example with msg when ok is false: the examples double as
// tests of what they show.
func Check(ok bool, format string, args ...any) {
	if !ok {
		log.Fatalf("example check failed: "+format, args...)
	}
}
