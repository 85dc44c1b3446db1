package reqcache_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/reqcache/reqcache"
	"github.com/reqcache/reqcache/config"
	"github.com/reqcache/reqcache/session"
)

func ExampleInstall() {
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello")
	}))
	defer origin.Close()

	cfg := config.Default() // or leave out WithConfig to read ./reqcache.toml
	if err := reqcache.Install(reqcache.WithConfig(cfg)); err != nil {
		fmt.Println(err)
		return
	}
	defer reqcache.Uninstall()

	for i := 0; i < 2; i++ {
		resp, err := http.Get(origin.URL) // any code using the default client
		if err != nil {
			fmt.Println(err)
			return
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println(string(body), session.InfoOf(resp).FromCache)
	}
	// Output:
	// hello false
	// hello true
}

func ExampleDisabled() {
	hits := 0
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits++
		fmt.Fprintf(w, "response %d", hits)
	}))
	defer origin.Close()
	if err := reqcache.Install(reqcache.WithConfig(config.Default())); err != nil {
		fmt.Println(err)
		return
	}
	defer reqcache.Uninstall()

	get := func(ctx context.Context) string {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, origin.URL, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err.Error()
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return string(body)
	}
	ctx := context.Background()
	fmt.Println(get(ctx))                                      // stored
	fmt.Println(get(reqcache.Disabled(ctx)))                   // bypasses the cache
	fmt.Println(get(reqcache.Enabled(reqcache.Disabled(ctx)))) // innermost wins: cached
	// Output:
	// response 1
	// response 2
	// response 1
}

// Install takes any session option: here requests-cache's filter_fn, which
// keeps one path out of the cache.
func ExampleWithSessionOptions() {
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello")
	}))
	defer origin.Close()

	notLive := session.WithFilter(func(resp *http.Response) bool { return resp.Request.URL.Path != "/live" })
	if err := reqcache.Install(reqcache.WithConfig(config.Default()), reqcache.WithSessionOptions(notLive)); err != nil {
		fmt.Println(err)
		return
	}
	defer reqcache.Uninstall()

	for _, path := range []string{"/live", "/live", "/daily", "/daily"} {
		resp, err := http.Get(origin.URL + path)
		if err != nil {
			fmt.Println(err)
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		fmt.Println(path, session.InfoOf(resp).FromCache)
	}
	// Output:
	// /live false
	// /live false
	// /daily false
	// /daily true
}

// A library that builds its own transport (an SDK, resty, a retrying
// client) is cached with one line; misses still go through its transport.
func ExampleTransport() {
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "object")
	}))
	defer origin.Close()

	libraryClient := &http.Client{Transport: &http.Transport{}} // as the library made it
	libraryClient.Transport = reqcache.Transport(libraryClient.Transport)

	if err := reqcache.Install(reqcache.WithConfig(config.Default())); err != nil {
		fmt.Println(err)
		return
	}
	defer reqcache.Uninstall()
	for i := 0; i < 2; i++ {
		resp, err := libraryClient.Get(origin.URL)
		if err != nil {
			fmt.Println(err)
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		fmt.Printf("from cache: %v, X-From-Cache: %q\n", session.InfoOf(resp).FromCache, resp.Header.Get("X-From-Cache"))
	}
	// Output:
	// from cache: false, X-From-Cache: ""
	// from cache: true, X-From-Cache: "1"
}

func ExampleHandler() {
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		io.WriteString(w, "hello")
	}))
	defer origin.Close()
	if err := reqcache.Install(reqcache.WithConfig(config.Default())); err != nil {
		fmt.Println(err)
		return
	}
	defer reqcache.Uninstall()

	// On an internal listener, as with net/http/pprof.
	mux := http.NewServeMux()
	mux.Handle("/debug/reqcache/", reqcache.Handler())
	debug := httptest.NewServer(mux)
	defer debug.Close()

	resp, err := http.Get(origin.URL + "/greeting")
	if err != nil {
		fmt.Println(err)
		return
	}
	io.Copy(io.Discard, resp.Body) // a response is stored when its body has been read
	resp.Body.Close()

	resp, err = http.Get(debug.URL + "/debug/reqcache/entries?format=json")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	var listing struct {
		Total   int `json:"total"`
		Entries []struct {
			URL   string `json:"url"`
			Fresh bool   `json:"fresh"`
		} `json:"entries"`
	}
	json.NewDecoder(resp.Body).Decode(&listing)
	for _, e := range listing.Entries {
		fmt.Println(listing.Total, strings.TrimPrefix(e.URL, origin.URL), e.Fresh)
	}
	// Output:
	// 1 /greeting true
}
