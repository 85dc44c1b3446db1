// Command cli shows a short-lived program keeping its cache between runs:
// with [memory] snapshot set, Install loads the cache from a file and
// Uninstall writes it back, so the second run of a command-line tool or a
// script is answered from the cache with no server to run (requests-cache's
// SQLite default does the same for Python scripts).
//
// The example runs itself twice, as two separate processes, against a
// loopback origin:
//
//	go run ./examples/cli
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/reqcache/reqcache"
	"github.com/reqcache/reqcache/config"
	"github.com/reqcache/reqcache/examples/internal/demo"
)

func main() {
	delay := flag.Duration("delay", 50*time.Millisecond, "how slow the origin is")
	url := flag.String("url", "", "(the tool's run) the URL to fetch")
	snapshot := flag.String("snapshot", "", "(the tool's run) the snapshot file")
	flag.Parse()
	if *url != "" {
		tool(*url, *snapshot)
		return
	}

	origin := demo.NewOrigin(*delay, nil)
	defer origin.Close()
	dir, err := os.MkdirTemp("", "reqcache-cli")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	snap := filepath.Join(dir, "cache.snapshot")
	self, err := os.Executable()
	if err != nil {
		log.Fatal(err)
	}
	var outputs []string
	for run := 1; run <= 2; run++ {
		out, err := exec.Command(self, "-url", origin.URL+"/v1/report", "-snapshot", snap).CombinedOutput()
		if err != nil {
			log.Fatalf("run %d: %v\n%s", run, err, out)
		}
		fmt.Printf("run %d (a new process): %s", run, out)
		outputs = append(outputs, string(out))
	}
	demo.Check(strings.Contains(outputs[0], "fwd=uri-miss") && strings.Contains(outputs[1], "hit"),
		"the second run was not answered from the snapshot: %q", outputs)
	demo.Check(origin.Requests() == 1, "origin requests %d, want 1", origin.Requests())
	fmt.Printf("origin requests: %d (the second run read the snapshot %s)\n", origin.Requests(), filepath.Base(snap))
}

// tool is what a command-line program does: install, one request,
// uninstall (which writes the snapshot).
func tool(url, snapshot string) {
	cfg := config.Default()
	cfg.ExpireAfter = config.After(time.Hour)
	cfg.Memory.Snapshot = snapshot // in a TOML file: [memory] snapshot = "~/.cache/mytool.snapshot"
	if err := reqcache.Install(reqcache.WithConfig(cfg)); err != nil {
		log.Fatal(err)
	}
	defer func() {
		if err := reqcache.Uninstall(); err != nil {
			log.Fatal(err)
		}
	}()
	resp, err := http.Get(url)
	if err != nil {
		log.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	fmt.Println(resp.Header.Get("Cache-Status"))
}
