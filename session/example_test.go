package session_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/reqcache/reqcache/config"
	"github.com/reqcache/reqcache/session"
)

func ExampleNew() {
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "data")
	}))
	defer origin.Close()

	cfg := config.Default()
	cfg.ExpireAfter = config.After(5 * time.Minute)
	s, err := session.New(cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	client := s.Client()
	for i := 0; i < 2; i++ {
		resp, err := client.Get(origin.URL)
		if err != nil {
			fmt.Println(err)
			return
		}
		io.Copy(io.Discard, resp.Body) // the miss is stored as its body ends
		resp.Body.Close()
		fmt.Println(resp.Header.Get("Cache-Status"))
	}
	// Output:
	// reqcache; fwd=uri-miss; stored
	// reqcache; hit; ttl=299
}

func ExampleWrap() {
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "data")
	}))
	defer origin.Close()

	existing := &http.Client{Timeout: 10 * time.Second}
	cached, s, err := session.Wrap(existing, config.Default())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	for i := 0; i < 2; i++ {
		resp, err := cached.Get(origin.URL)
		if err != nil {
			fmt.Println(err)
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		fmt.Println(session.InfoOf(resp).FromCache, cached.Timeout)
	}
	// Output:
	// false 10s
	// true 10s
}

// A key function that extends the session's own key with a tenant header
// (requests-cache's key_fn calling create_key).
func ExampleDefaultKey() {
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "report for "+r.Header.Get("X-Tenant"))
	}))
	defer origin.Close()

	s, err := session.New(config.Default(), session.WithKeyFunc(func(req *http.Request, body []byte) string {
		return session.DefaultKey(req, body) + "|tenant=" + req.Header.Get("X-Tenant")
	}))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	for _, tenant := range []string{"a", "b", "a"} {
		req, _ := http.NewRequest(http.MethodGet, origin.URL+"/report", nil)
		req.Header.Set("X-Tenant", tenant)
		resp, err := s.Client().Do(req)
		if err != nil {
			fmt.Println(err)
			return
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Printf("%s (from cache: %v)\n", body, session.InfoOf(resp).FromCache)
	}
	// Output:
	// report for a (from cache: false)
	// report for b (from cache: false)
	// report for a (from cache: true)
}

func ExampleCache_Handler() {
	s, err := session.New(config.Default())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	mux := http.NewServeMux()
	// Read-only; session.AllowChanges() adds delete and clear buttons.
	mux.Handle("/debug/reqcache/", s.Cache().Handler())
	debug := httptest.NewServer(mux)
	defer debug.Close()

	resp, err := http.Get(debug.URL + "/debug/reqcache/?format=json")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	var overview struct {
		Backend string `json:"backend"`
		Entries int    `json:"entries"`
	}
	json.NewDecoder(resp.Body).Decode(&overview)
	fmt.Println(overview.Backend, overview.Entries)
	// Output:
	// memory 0
}
