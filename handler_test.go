package reqcache_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/reqcache/reqcache"
	"github.com/reqcache/reqcache/config"
	"github.com/reqcache/reqcache/internal/mongotest"
)

// The page follows the installation: nothing installed is a 503, a
// reinstall shows the new cache.
func TestHandlerFollowsInstall(t *testing.T) {
	h := reqcache.Handler()
	view := func() (int, string) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/debug/reqcache/?format=json", nil))
		return rec.Code, rec.Body.String()
	}
	if code, _ := view(); code != http.StatusServiceUnavailable {
		t.Fatalf("nothing installed: %d, want 503", code)
	}
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
	}))
	defer origin.Close()
	if err := reqcache.Install(reqcache.WithConfig(config.Default())); err != nil {
		t.Fatal(err)
	}
	defer reqcache.Uninstall()
	resp, err := http.Get(origin.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if code, body := view(); code != 200 || !strings.Contains(body, `"entries": 1`) {
		t.Fatalf("installed: %d %s", code, body)
	}
	if err := reqcache.Install(reqcache.WithConfig(config.Default())); err != nil {
		t.Fatal(err)
	}
	if code, body := view(); code != 200 || !strings.Contains(body, `"entries": 0`) {
		t.Fatalf("reinstalled: %d %s, want the new, empty cache", code, body)
	}
	reqcache.Uninstall()
	if code, _ := view(); code != http.StatusServiceUnavailable {
		t.Fatalf("uninstalled: %d, want 503", code)
	}
}

// The page records from the moment it is mounted (and from each later
// Install), not from its first visit.
func TestHandlerRecordsBeforeTheFirstVisit(t *testing.T) {
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
	}))
	defer origin.Close()
	for _, mountFirst := range []bool{true, false} {
		var h http.Handler
		if mountFirst {
			h = reqcache.Handler()
		}
		if err := reqcache.Install(reqcache.WithConfig(config.Default())); err != nil {
			t.Fatal(err)
		}
		if !mountFirst {
			h = reqcache.Handler()
		}
		for i := 0; i < 3; i++ {
			resp, err := http.Get(origin.URL + "/x")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/debug/reqcache/?format=json", nil))
		var ov struct {
			Recent []struct{ Outcome string } `json:"recent"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &ov); err != nil {
			t.Fatal(err)
		}
		if len(ov.Recent) != 3 {
			t.Errorf("mounted before Install %v: %d recent requests at the first visit, want the 3 made before it", mountFirst, len(ov.Recent))
		}
		reqcache.Uninstall()
	}
}

// The page over the stores shared between processes: a listing pages
// through a MongoDB cursor held between requests, an entry is read and
// deleted there.
func TestHandlerOnMongo(t *testing.T) {
	for _, backend := range []string{config.BackendMongo, config.BackendTiered} {
		t.Run(backend, func(t *testing.T) {
			origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", "max-age=600")
				w.Write([]byte(r.URL.Path))
			}))
			defer origin.Close()
			if err := reqcache.Install(reqcache.WithConfig(mongoConfig(t, mongotest.URI(t), backend))); err != nil {
				t.Fatal(err)
			}
			defer reqcache.Uninstall()
			const n = 70
			for i := 0; i < n; i++ {
				resp, err := http.Get(fmt.Sprintf("%s/item/%d", origin.URL, i))
				if err != nil {
					t.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body) // stored at the body's end
				resp.Body.Close()
			}
			mux := http.NewServeMux()
			mux.Handle("/debug/reqcache/", reqcache.Handler(reqcache.AllowChanges()))
			page := httptest.NewServer(mux)
			defer page.Close()
			get := func(view string, v any) int {
				t.Helper()
				resp, err := http.Get(page.URL + "/debug/reqcache/" + view)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				if v != nil {
					if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
						t.Fatalf("%s: %v", view, err)
					}
				}
				return resp.StatusCode
			}
			var ov struct {
				Backend string `json:"backend"`
				Entries int    `json:"entries"`
			}
			get("?format=json", &ov)
			if ov.Backend != backend || ov.Entries != n {
				t.Fatalf("overview: backend %q, %d entries; want %q, %d", ov.Backend, ov.Entries, backend, n)
			}
			type listing struct {
				Cursor  string `json:"cursor"`
				More    bool   `json:"more"`
				Entries []struct {
					Key, URL string
				} `json:"entries"`
			}
			seen := map[string]string{}
			var l listing
			get("entries?format=json", &l)
			for page := 2; ; page++ {
				for _, e := range l.Entries {
					seen[e.Key] = e.URL
				}
				if !l.More {
					break
				}
				get(fmt.Sprintf("entries?format=json&cursor=%s&page=%d", l.Cursor, page), &l)
			}
			if len(seen) != n {
				t.Fatalf("the listing showed %d distinct entries, want %d", len(seen), n)
			}
			var key string
			for k := range seen {
				key = k
				break
			}
			var e struct{ Key, URL string }
			if code := get("entry?format=json&key="+key, &e); code != 200 || e.URL != seen[key] {
				t.Fatalf("entry %s: %d %+v", key, code, e)
			}
			// The token from the page's own form, then the delete.
			resp, err := http.Get(page.URL + "/debug/reqcache/entry?key=" + key)
			if err != nil {
				t.Fatal(err)
			}
			html, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			m := regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`).FindSubmatch(html)
			if m == nil {
				t.Fatal("no form token on the entry page")
			}
			resp, err = http.PostForm(page.URL+"/debug/reqcache/delete?format=json", url.Values{"key": {key}, "csrf": {string(m[1])}})
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if code := get("entry?format=json&key="+key, nil); code != http.StatusNotFound {
				t.Errorf("after the delete the entry answers %d, want 404", code)
			}
			get("?format=json", &ov)
			if ov.Entries != n-1 {
				t.Errorf("after the delete: %d entries, want %d", ov.Entries, n-1)
			}
		})
	}
}
