// Command cacheproxy is a reverse proxy whose transport is a reqcache
// session, so that HTTP cache conformance suites such as cache-tests
// (cache-tests.fyi) can test reqcache like any other cache. See README.md.
//
//	go run ./tools/cacheproxy -listen 127.0.0.1:8080 -origin http://127.0.0.1:8000
package main

import (
	"flag"
	"log"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"

	"go.uber.org/zap"

	"github.com/reqcache/reqcache/config"
	"github.com/reqcache/reqcache/session"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:8080", "address to listen on")
	origin := flag.String("origin", "http://127.0.0.1:8000", "origin the proxy forwards to")
	cfgPath := flag.String("config", filepath.Join("tools", "cacheproxy", "cachetests.toml"), "reqcache TOML file")
	verbose := flag.Bool("v", false, "log cache decisions at debug level")
	flag.Parse()

	target, err := url.Parse(*origin)
	if err != nil {
		log.Fatalf("bad -origin: %v", err)
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		log.Fatal(err)
	}
	logger := zap.NewNop()
	if *verbose {
		logger, _ = zap.NewDevelopment()
	}
	// A transport of its own: idle connections are kept per proxy, and the
	// suite's origin sees requests exactly as the session sends them.
	s, err := session.New(cfg, session.WithUpstream(&http.Transport{Proxy: nil, DisableCompression: true}), session.WithLogger(logger))
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	proxy := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			r.Out.Host = r.In.Host
		},
		Transport: s,
	}
	log.Printf("reqcache proxy on http://%s -> %s (config %s)", *listen, target, *cfgPath)
	if err := http.ListenAndServe(*listen, proxy); err != nil {
		log.Print(err)
		os.Exit(1)
	}
}
