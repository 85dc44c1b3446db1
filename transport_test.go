package reqcache_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/reqcache/reqcache"
	"github.com/reqcache/reqcache/session"
)

// Transport puts whatever installation is current in front of a library's
// own transport: misses go through it, hits never reach it, and with
// nothing installed it is the library's transport alone.
func TestTransportFollowsTheInstallation(t *testing.T) {
	srv, origin := countingOrigin(t)
	own := &roundTripFuncHolder{next: &http.Transport{}}       // a library's own transport, counting what reaches it
	client := &http.Client{Transport: reqcache.Transport(own)} // a library's client, built before Install
	fetch := func() (string, *http.Response) {
		t.Helper()
		resp, err := client.Get(srv.URL + "/lib")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b := new(strings.Builder)
		if _, err := io.Copy(b, resp.Body); err != nil {
			t.Fatal(err)
		}
		return b.String(), resp
	}
	want := func(step string, ownCalls, originCalls int64, fromCache bool, resp *http.Response) {
		t.Helper()
		if own.calls.Load() != ownCalls || origin.Load() != originCalls || session.InfoOf(resp).FromCache != fromCache {
			t.Fatalf("%s: the library's transport saw %d (want %d), the origin %d (want %d), from cache %v (want %v)",
				step, own.calls.Load(), ownCalls, origin.Load(), originCalls, session.InfoOf(resp).FromCache, fromCache)
		}
	}

	_, resp := fetch()
	want("not installed", 1, 1, false, resp)
	if resp.Header.Get("Cache-Status") != "" {
		t.Fatalf("not installed, yet a Cache-Status: %q", resp.Header.Get("Cache-Status"))
	}

	install(t, nil)
	_, resp = fetch()
	want("installed: a miss through the library's transport", 2, 2, false, resp)
	body, resp := fetch()
	want("installed: a hit", 2, 2, true, resp)
	if body != "origin:/lib" {
		t.Fatalf("hit body %q", body)
	}

	install(t, nil) // a reinstall: a new, empty cache
	_, resp = fetch()
	want("reinstalled: a miss in the new cache", 3, 3, false, resp)
	_, resp = fetch()
	want("reinstalled: a hit", 3, 3, true, resp)

	mustUninstall(t)
	_, resp = fetch()
	want("uninstalled", 4, 4, false, resp)
}

// A nil base, or the installed http.DefaultTransport itself, is the
// transport Install found: a request is cached once, not twice.
func TestTransportNeverCachesTwice(t *testing.T) {
	srv, origin := countingOrigin(t)
	install(t, nil)
	for name, base := range map[string]http.RoundTripper{"nil": nil, "DefaultTransport": http.DefaultTransport} {
		client := &http.Client{Transport: reqcache.Transport(base)}
		for i := range 2 {
			resp, err := client.Get(srv.URL + "/" + name)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body) // stored as its body ends
			resp.Body.Close()
			if cs := resp.Header.Get("Cache-Status"); strings.Count(cs, "reqcache") != 1 || session.InfoOf(resp).FromCache != (i == 1) {
				t.Fatalf("%s, request %d: Cache-Status %q", name, i, cs)
			}
		}
	}
	if got := origin.Load(); got != 2 {
		t.Fatalf("origin saw %d requests, want 2", got)
	}
}
