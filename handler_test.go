package reqcache_test

import (
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
