package reqcache_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/reqcache/reqcache"
	"github.com/reqcache/reqcache/config"
	"github.com/reqcache/reqcache/session"
)

// These tests show reqcache dropped into a program whose other libraries
// treat http.DefaultTransport as net/http's own. Like patch_test.go, none
// runs in parallel.

// withDefaultTransport makes rt http.DefaultTransport for the test.
func withDefaultTransport(t *testing.T, rt http.RoundTripper) {
	t.Helper()
	orig := http.DefaultTransport
	http.DefaultTransport = rt
	t.Cleanup(func() { http.DefaultTransport = orig })
}

func install(t *testing.T, edit func(*config.Config)) {
	t.Helper()
	cfg := smallConfig()
	if edit != nil {
		edit(cfg)
	}
	if err := reqcache.Install(reqcache.WithConfig(cfg)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mustUninstall(t) })
}

func TestInstalledTransportIsAnHTTPTransport(t *testing.T) {
	srv, n := countingOrigin(t)
	install(t, nil)

	tr, ok := http.DefaultTransport.(*http.Transport)
	if !ok {
		t.Fatalf("http.DefaultTransport is %T after Install, want *http.Transport", http.DefaultTransport)
	}
	// Through the installed transport itself: cached.
	for i := 0; i < 2; i++ {
		req, _ := http.NewRequest("GET", srv.URL+"/direct", nil)
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if got := session.InfoOf(resp).FromCache; got != (i == 1) {
			t.Fatalf("request %d through DefaultTransport.RoundTrip: FromCache %v", i, got)
		}
	}
	if n.Load() != 1 {
		t.Fatalf("origin saw %d requests through the installed transport, want 1", n.Load())
	}

	// What a great many libraries do: clone the default transport. The
	// clone is a working, plain transport: not cached.
	clone := http.DefaultTransport.(*http.Transport).Clone()
	c := &http.Client{Transport: clone}
	for i := 0; i < 2; i++ {
		resp, err := c.Get(srv.URL + "/cloned")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != "origin:/cloned" || resp.Header.Get("Cache-Status") != "" {
			t.Fatalf("clone answered %q with Cache-Status %q, want the origin's uncached body", b, resp.Header.Get("Cache-Status"))
		}
	}
	if n.Load() != 3 {
		t.Fatalf("origin saw %d requests, want 3 (1 cached + 2 through the uncached clone)", n.Load())
	}
}

func TestFallbackWhenDefaultTransportIsNotAnHTTPTransport(t *testing.T) {
	srv, n := countingOrigin(t)
	// A program that installed its own wrapper before reqcache.
	holder := &roundTripFuncHolder{next: &http.Transport{}}
	withDefaultTransport(t, holder)
	install(t, nil)
	if _, ok := http.DefaultTransport.(*session.Session); !ok {
		t.Fatalf("http.DefaultTransport is %T, want the session itself when the replaced transport is not a *http.Transport", http.DefaultTransport)
	}
	if reqcache.Installed().Upstream() != holder {
		t.Fatal("the session must forward to the program's own transport")
	}
	httpGet(t, srv.URL+"/a")
	httpGet(t, srv.URL+"/a")
	if n.Load() != 1 || holder.calls.Load() != 1 {
		t.Fatalf("origin %d, wrapper %d requests: want 1 and 1", n.Load(), holder.calls.Load())
	}
	mustUninstall(t)
	if http.DefaultTransport != holder {
		t.Fatal("Uninstall did not restore the program's transport")
	}
}

type roundTripFuncHolder struct {
	next  http.RoundTripper
	calls atomic.Int64
}

func (h *roundTripFuncHolder) RoundTrip(r *http.Request) (*http.Response, error) {
	h.calls.Add(1)
	return h.next.RoundTrip(r)
}

// echoUpgradeOrigin switches to an echo protocol on "Connection: Upgrade"
// and counts the upgrades.
func echoUpgradeOrigin(t *testing.T) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var upgrades atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.EqualFold(r.Header.Get("Upgrade"), "echo") {
			http.Error(w, "upgrade required", http.StatusUpgradeRequired)
			return
		}
		upgrades.Add(1)
		conn, rw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close()
		rw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
		rw.Flush()
		line, err := rw.ReadString('\n')
		if err != nil {
			return
		}
		rw.WriteString("echo:" + line)
		rw.Flush()
	}))
	t.Cleanup(srv.Close)
	return srv, &upgrades
}

func TestUpgradeThroughDefaultClientIsALiveConnection(t *testing.T) {
	srv, upgrades := echoUpgradeOrigin(t)
	install(t, nil)
	for _, via := range []struct {
		name string
		rt   func(*http.Request) (*http.Response, error)
	}{
		{"DefaultClient", http.DefaultClient.Do},
		{"DefaultTransport", http.DefaultTransport.RoundTrip},
	} {
		t.Run(via.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", srv.URL+"/ws", nil)
			req.Header.Set("Connection", "Upgrade")
			req.Header.Set("Upgrade", "echo")
			done := make(chan struct{})
			timer := time.AfterFunc(10*time.Second, func() {
				select {
				case <-done:
				default:
					t.Error("upgrade did not return within 10s")
				}
			})
			defer timer.Stop()
			resp, err := via.rt(req)
			close(done)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusSwitchingProtocols {
				t.Fatalf("status %d, want 101", resp.StatusCode)
			}
			conn, ok := resp.Body.(io.ReadWriteCloser)
			if !ok {
				t.Fatalf("101 body is %T, not the connection (io.ReadWriteCloser)", resp.Body)
			}
			defer conn.Close()
			if _, err := io.WriteString(conn, "ping\n"); err != nil {
				t.Fatal(err)
			}
			line, err := bufio.NewReader(conn).ReadString('\n')
			if err != nil || line != "echo:ping\n" {
				t.Fatalf("over the upgraded connection: %q %v", line, err)
			}
		})
	}
	if upgrades.Load() != 2 {
		t.Fatalf("origin saw %d upgrades, want 2 (never answered from the cache)", upgrades.Load())
	}
	if n, _ := reqcache.Installed().Cache().Len(t.Context()); n != 0 {
		t.Fatalf("%d entries stored for upgrades, want 0", n)
	}
}

func TestHTTP2AndNothingLoggedThroughInstalledTransport(t *testing.T) {
	var h2 atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor == 2 {
			h2.Add(1)
		}
		io.WriteString(w, "proto:"+r.Proto)
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)

	// net/http logs through the standard logger.
	var logged bytes.Buffer
	prevOut, prevFlags := log.Writer(), log.Flags()
	log.SetOutput(&logged)
	t.Cleanup(func() { log.SetOutput(prevOut); log.SetFlags(prevFlags) })

	// The program's default transport trusts the test origin, as a real
	// one trusts the public roots.
	base := http.DefaultTransport.(*http.Transport).Clone()
	base.TLSClientConfig = &tls.Config{RootCAs: srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs}
	base.ForceAttemptHTTP2 = true
	withDefaultTransport(t, base)
	install(t, nil)

	for i, get := range []func() (*http.Response, error){
		func() (*http.Response, error) { return http.Get(srv.URL + "/a") },
		func() (*http.Response, error) {
			req, _ := http.NewRequest("GET", srv.URL+"/b", nil)
			return http.DefaultTransport.RoundTrip(req)
		},
	} {
		resp, err := get()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != "proto:HTTP/2.0" {
			t.Fatalf("request %d: origin answered %q, want HTTP/2", i, b)
		}
	}
	if h2.Load() != 2 {
		t.Fatalf("%d HTTP/2 requests reached the origin, want 2", h2.Load())
	}
	// A clone a library makes negotiates HTTP/2 too.
	clone := http.DefaultTransport.(*http.Transport).Clone()
	resp, err := (&http.Client{Transport: clone}).Get(srv.URL + "/c")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.ProtoMajor != 2 {
		t.Fatalf("a clone of the installed transport spoke %s, want HTTP/2", resp.Proto)
	}
	if logged.Len() != 0 {
		t.Fatalf("net/http logged: %s", logged.String())
	}
}

func TestCloseIdleConnectionsReachesTheUpstream(t *testing.T) {
	var closed atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateClosed {
			closed.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	withDefaultTransport(t, &http.Transport{})
	install(t, func(c *config.Config) { c.ExpireAfter = config.DoNotCache })

	httpGet(t, srv.URL+"/") // leaves one idle keep-alive connection upstream
	if closed.Load() != 0 {
		t.Fatal("connection closed before CloseIdleConnections")
	}
	http.DefaultTransport.(*http.Transport).CloseIdleConnections()
	deadline := time.Now().Add(5 * time.Second)
	for closed.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if closed.Load() != 1 {
		t.Fatalf("origin saw %d closed connections after CloseIdleConnections, want 1", closed.Load())
	}
}

func TestRoundTripLeavesTheRequestUnchanged(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		b, _ := io.ReadAll(r.Body)
		io.WriteString(w, "got:"+string(b))
	}))
	t.Cleanup(srv.Close)
	for _, tc := range []struct {
		name     string
		methods  []string
		maxBody  int64
		wantBody string
	}{
		{"cached POST", []string{"GET", "POST"}, 1 << 20, "got:payload"},
		{"uncached POST", []string{"GET"}, 1 << 20, "got:payload"},
		{"POST larger than max_body_bytes", []string{"GET", "POST"}, 3, "got:payload"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := session.New(smallConfigWith(func(c *config.Config) {
				c.AllowableMethods = tc.methods
				c.MaxBodyBytes = tc.maxBody
			}), session.WithUpstream(http.DefaultTransport))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			for _, withGetBody := range []bool{true, false} {
				req, _ := http.NewRequest("POST", srv.URL+"/p?b=2&a=1", strings.NewReader("payload"))
				req.Header.Set("X-Trace", "1")
				if !withGetBody {
					req.GetBody = nil
				}
				body, getBody, header, url := req.Body, req.GetBody, req.Header.Clone(), req.URL.String()
				resp, err := s.RoundTrip(req)
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if string(b) != tc.wantBody {
					t.Fatalf("answered %q, want %q", b, tc.wantBody)
				}
				if req.Body != body {
					t.Error("RoundTrip replaced req.Body")
				}
				if (req.GetBody == nil) != (getBody == nil) {
					t.Error("RoundTrip changed req.GetBody")
				}
				if withGetBody && req.GetBody != nil {
					rc, _ := req.GetBody()
					if again, _ := io.ReadAll(rc); string(again) != "payload" {
						t.Errorf("GetBody now yields %q", again)
					}
				}
				if !withGetBody && req.GetBody != nil {
					t.Error("RoundTrip set req.GetBody")
				}
				if req.URL.String() != url || len(req.Header) != len(header) || req.Header.Get("X-Trace") != "1" {
					t.Errorf("RoundTrip changed the URL or header: %s %v", req.URL, req.Header)
				}
			}
		})
	}
}

func smallConfigWith(edit func(*config.Config)) *config.Config {
	c := smallConfig()
	edit(c)
	return c
}

// A hit through http.DefaultClient after Install allocates what
// BenchmarkHit reports (12 here, 13 there, where the entry's seven header
// fields and the three a hit adds outgrow one map group; most are
// http.Client's own); an exchange escaping to the heap, or a header copied
// once more, shows up here first.
func TestHitAllocations(t *testing.T) {
	srv, _ := countingOrigin(t)
	install(t, nil)
	httpGet(t, srv.URL+"/hit")
	// An entry with a lifetime: its Cache-Status carries a ttl.
	lived := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=3600")
		io.WriteString(w, "lived")
	}))
	t.Cleanup(lived.Close)
	httpGet(t, lived.URL+"/hit")
	for _, c := range []struct {
		name   string
		client *http.Client
		url    string
	}{
		{"DefaultClient", http.DefaultClient, srv.URL + "/hit"},
		{"zero Client", &http.Client{}, srv.URL + "/hit"},
		{"DefaultClient, an entry with a ttl", http.DefaultClient, lived.URL + "/hit"},
	} {
		allocs := testing.AllocsPerRun(200, func() {
			resp, err := c.client.Get(c.url)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		})
		// The client's own 7, the answer's one allocation, its header map
		// (2 while it has at most 8 fields: this entry's 3 stored and the
		// 3 a hit adds).
		if allocs > 10 {
			t.Errorf("a hit through %s allocates %v times, want at most 10", c.name, allocs)
		}
	}
}

// InstallContext's ctx bounds the store I/O of installing: a MongoDB that
// does not answer fails the install when ctx ends, not after
// connect_timeout.
func TestInstallContextBoundsStoreIO(t *testing.T) {
	cfg := smallConfig()
	cfg.Backend = config.BackendMongo
	cfg.Mongo.URI = "mongodb://127.0.0.1:1" // nothing listens there
	cfg.Mongo.ConnectTimeout = config.Duration(30 * time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := reqcache.InstallContext(ctx, reqcache.WithConfig(cfg))
	if err == nil {
		mustUninstall(t)
		t.Fatal("installed without a MongoDB")
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Fatalf("InstallContext returned after %v: its context did not bound the connect", took)
	}
	if reqcache.IsInstalled() {
		t.Fatal("a failed install left something installed")
	}
}
