package reqcache_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/reqcache/reqcache"
	"github.com/reqcache/reqcache/config"
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
