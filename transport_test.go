package reqcache_test

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
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

// Libraries type-assert the transport they are given to *http.Transport
// and configure it afterwards (TLS roots, pool sizes): Transport of nil or
// of a *http.Transport is one, and what is set on it governs its misses.
func TestTransportIsAnHTTPTransportConfiguredAfterwards(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		io.WriteString(w, "tls:"+r.URL.Path)
	}))
	t.Cleanup(srv.Close)
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	get := func(c *http.Client, path string) (string, *http.Response, error) {
		resp, err := c.Get(srv.URL + path)
		if err != nil {
			return "", nil, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return string(b), resp, err
	}

	install(t, nil)
	for name, base := range map[string]http.RoundTripper{"nil": nil, "a *http.Transport": &http.Transport{}, "the installed DefaultTransport": http.DefaultTransport} {
		tr, ok := reqcache.Transport(base).(*http.Transport)
		if !ok {
			t.Fatalf("%s: Transport returned %T, want *http.Transport", name, reqcache.Transport(base))
		}
		c := &http.Client{Transport: tr}
		path := "/" + strings.ReplaceAll(name, " ", "-")
		if _, _, err := get(c, path); err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Fatalf("%s: before the library sets its roots, a miss gave %v, want a certificate error", name, err)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: roots} // as go-elasticsearch's CACert and Vault's ConfigureTLS do
		tr.MaxIdleConnsPerHost = 3                       // as Vault's SetMaxIdleConnections does
		before := n.Load()
		for i := range 3 {
			body, resp, err := get(c, path)
			if err != nil {
				t.Fatalf("%s, read %d: %v", name, i, err)
			}
			if body != "tls:"+path || session.InfoOf(resp).FromCache != (i > 0) || strings.Count(resp.Header.Get("Cache-Status"), "reqcache") != 1 {
				t.Fatalf("%s, read %d: %q, Cache-Status %q", name, i, body, resp.Header.Get("Cache-Status"))
			}
		}
		if got := n.Load() - before; got != 1 {
			t.Fatalf("%s: the origin saw %d requests for three reads, want 1", name, got)
		}
	}

	// Uninstalled, the same transport is a plain one with its settings.
	tr := reqcache.Transport(nil).(*http.Transport)
	tr.TLSClientConfig = &tls.Config{RootCAs: roots}
	mustUninstall(t)
	before := n.Load()
	for range 2 {
		if _, resp, err := get(&http.Client{Transport: tr}, "/after"); err != nil || resp.Header.Get("Cache-Status") != "" {
			t.Fatalf("uninstalled: %v, Cache-Status %q", err, resp.Header.Get("Cache-Status"))
		}
	}
	if got := n.Load() - before; got != 2 {
		t.Fatalf("uninstalled: the origin saw %d requests for two reads, want 2", got)
	}
}
