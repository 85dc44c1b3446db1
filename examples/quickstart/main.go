// Command quickstart shows reqcache in a few lines: a slow origin on
// loopback, reqcache.Install from a TOML file, a miss then a hit through
// plain http.Get, and a Disabled scope. It leaves its cache in a snapshot
// file for the reqcache command to look at.
//
//	go run ./examples/quickstart
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"time"

	"github.com/reqcache/reqcache"
	"github.com/reqcache/reqcache/config"
	"github.com/reqcache/reqcache/session"
)

func main() {
	configPath := flag.String("config", defaultConfig(), "reqcache TOML file")
	delay := flag.Duration("delay", 300*time.Millisecond, "how slow the origin is")
	flag.Parse()

	// A slow origin on loopback stands in for a rate-limited API.
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(*delay)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"path":%q,"served_at":%q}`, r.URL.Path, time.Now().Format(time.RFC3339Nano))
	}))
	defer origin.Close()

	// reqcache.Install(reqcache.WithConfigFile(*configPath)) is all a
	// program needs; the quick start also keeps its cache in a file when it
	// exits (a snapshot), for the reqcache command to look at.
	cfg, err := config.Load(*configPath)
	if err != nil {
		log.Fatal(err)
	}
	if cfg.Memory.Snapshot == "" {
		cfg.Memory.Snapshot = filepath.Join(os.TempDir(), "reqcache-quickstart.snapshot")
		os.Remove(cfg.Memory.Snapshot) // each run starts empty and leaves its own cache
	}
	if err := reqcache.Install(reqcache.WithConfig(cfg)); err != nil {
		log.Fatal(err)
	}
	defer reqcache.Uninstall() // writes the snapshot
	fmt.Printf("reqcache installed from %s\n\n", *configPath)

	url := origin.URL + "/slow/users/42"
	fmt.Println("1. The first request goes to the origin and is stored:")
	fetch(http.DefaultClient, url, context.Background())
	fmt.Println("2. The same request again is answered from the cache:")
	fetch(http.DefaultClient, url, context.Background())
	fmt.Println("3. Inside reqcache.Disabled(ctx) the cache is bypassed:")
	fetch(http.DefaultClient, url, reqcache.Disabled(context.Background()))

	n, _ := reqcache.Installed().Cache().Len(context.Background())
	fmt.Printf("The cache holds %d response(s); stats: %+v\n", n, reqcache.Installed().Stats())

	// The command reads the same TOML keys; this one names the snapshot.
	cliConfig := filepath.Join(os.TempDir(), "reqcache-quickstart.toml")
	toml := fmt.Sprintf("backend = \"memory\"\n\n[memory]\nsnapshot = %q\n", cfg.Memory.Snapshot)
	if err := os.WriteFile(cliConfig, []byte(toml), 0o600); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("\nThe cache is kept in %s when this program exits. Look at it with:\n", cfg.Memory.Snapshot)
	fmt.Printf("   go run ./cmd/reqcache -config %s ls\n", cliConfig)
}

func fetch(c *http.Client, url string, ctx context.Context) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		log.Fatal(err)
	}
	start := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	info := session.InfoOf(resp)
	fmt.Printf("   %-8s in %8s  Cache-Status: %s\n", label(info), time.Since(start).Round(10*time.Microsecond), resp.Header.Get("Cache-Status"))
	fmt.Printf("   from cache: %v, key: %.12s…, body: %s\n\n", info.FromCache, info.Key, body)
}

func label(i session.Info) string {
	if i.FromCache {
		return "HIT"
	}
	return "MISS"
}

// defaultConfig finds the example's TOML file whether the program runs from
// the repository root or from its own directory.
func defaultConfig() string {
	for _, p := range []string{"examples/quickstart/reqcache.toml", "reqcache.toml"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return filepath.Join("examples", "quickstart", "reqcache.toml")
}
