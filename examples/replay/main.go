// Command replay shows the cache as a portable fixture: responses recorded
// from an origin into a JSON Lines file (Cache.Export), the origin stopped,
// then the file loaded into a new cache (Cache.Import) that answers with
// only_if_cached = true: from the file alone, a 504 for anything it lacks,
// and no connection opened. In Go tests, package reqcachetest does this for
// you.
//
//	go run ./examples/replay
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/reqcache/reqcache/config"
	"github.com/reqcache/reqcache/examples/internal/demo"
	"github.com/reqcache/reqcache/session"
)

func main() {
	delay := flag.Duration("delay", 50*time.Millisecond, "how slow the origin is")
	flag.Parse()
	ctx := context.Background()
	origin := demo.NewOrigin(*delay, nil)
	dir, err := os.MkdirTemp("", "reqcache-replay")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	fixture := filepath.Join(dir, "api.jsonl")

	// A fixture's keys must not depend on the per-store secret that
	// separates credentials (each store has its own): fixtures turn
	// separate_credentials off. Credentials are redacted all the same.
	cfg := config.Default()
	cfg.SeparateCredentials = false

	fmt.Println("Recording (the origin answers, the cache keeps each response):")
	rec, err := session.New(cfg)
	if err != nil {
		log.Fatal(err)
	}
	for _, p := range []string{"/users/1", "/users/2?api_key=s3cret"} {
		demo.Fetch(ctx, rec.Client(), origin.URL+p)
	}
	var buf bytes.Buffer
	n, err := rec.Cache().Export(ctx, &buf, session.Filter{})
	if err != nil {
		log.Fatal(err)
	}
	rec.Close()
	if err := os.WriteFile(fixture, buf.Bytes(), 0o644); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("wrote %d responses to %s (credentials redacted: %v)\n", n, filepath.Base(fixture), !strings.Contains(buf.String(), "s3cret"))
	demo.Check(n == 2 && !strings.Contains(buf.String(), "s3cret"), "export: %d responses", n)
	recorded := origin.Requests()
	origin.Close()

	fmt.Println("Replaying with the origin gone (only_if_cached = true):")
	cfg.OnlyIfCached = true
	rep, err := session.New(cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer rep.Close()
	f, err := os.Open(fixture)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := rep.Cache().Import(ctx, f); err != nil {
		log.Fatal(err)
	}
	f.Close()
	r1, _ := demo.Fetch(ctx, rep.Client(), origin.URL+"/users/1")
	r2, _ := demo.Fetch(ctx, rep.Client(), origin.URL+"/users/2?api_key=another")
	r3, _ := demo.Fetch(ctx, rep.Client(), origin.URL+"/users/3")
	demo.Check(session.InfoOf(r1).FromCache && session.InfoOf(r2).FromCache, "replayed responses not from the cache")
	demo.Check(r3.StatusCode == http.StatusGatewayTimeout, "an unrecorded request got %d, want 504", r3.StatusCode)
	demo.Check(origin.Requests() == recorded, "the origin was asked during replay")
	fmt.Printf("origin requests: %d (all while recording)\n", origin.Requests())
}
