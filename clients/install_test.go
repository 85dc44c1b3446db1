package clients_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/go-github/v75/github"
	"github.com/hashicorp/go-retryablehttp"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/reqcache/reqcache"
	"github.com/reqcache/reqcache/config"
	"github.com/reqcache/reqcache/session"
)

// These tests change http.DefaultTransport and http.DefaultClient: none
// runs in parallel.

// newOrigin starts a loopback origin that counts the requests reaching it.
func newOrigin(t *testing.T, h http.HandlerFunc) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func install(t *testing.T, edit func(*config.Config)) {
	t.Helper()
	cfg := config.Default()
	cfg.Memory.MaxSizeMB = 8
	cfg.Memory.Shards = 8
	if edit != nil {
		edit(cfg)
	}
	if err := reqcache.Install(reqcache.WithConfig(cfg)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := reqcache.Uninstall(); err != nil {
			t.Error(err)
		}
	})
}

func wantRequests(t *testing.T, n *atomic.Int64, want int64, what string) {
	t.Helper()
	if got := n.Load(); got != want {
		t.Fatalf("%s: origin saw %d requests, want %d", what, got, want)
	}
}

// go-github with no client given uses a zero http.Client, which sends
// through http.DefaultTransport: cached by Install.
func TestGoGitHubWithNoClientIsCached(t *testing.T) {
	srv, n := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"login":"octocat","id":1}`)
	})
	install(t, nil)
	gh := github.NewClient(nil)
	gh.BaseURL, _ = url.Parse(srv.URL + "/")
	for i := 0; i < 3; i++ {
		u, resp, err := gh.Users.Get(context.Background(), "octocat")
		if err != nil {
			t.Fatal(err)
		}
		if u.GetLogin() != "octocat" {
			t.Fatalf("login %q", u.GetLogin())
		}
		if got := session.InfoOf(resp.Response).FromCache; got != (i > 0) {
			t.Fatalf("call %d: FromCache %v", i, got)
		}
	}
	wantRequests(t, n, 1, "three Users.Get calls")
}

// golang.org/x/oauth2 fetches tokens through http.DefaultClient (a POST:
// never cached) and sends API calls through http.DefaultTransport with the
// token: cached, per token (separate_credentials).
func TestOAuth2TokenFetchAndAPICalls(t *testing.T) {
	var tokens atomic.Int64
	srv, n := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/token" {
			i := tokens.Add(1)
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(map[string]any{"access_token": "tok" + string(rune('0'+i)), "token_type": "bearer", "expires_in": 3600})
			return
		}
		io.WriteString(w, "hello "+r.Header.Get("Authorization"))
	})
	install(t, nil)
	cc := clientcredentials.Config{ClientID: "id", ClientSecret: "secret", TokenURL: srv.URL + "/token"}
	for round := 1; round <= 2; round++ {
		// A new token source each round: a new token each time.
		client := oauth2.NewClient(context.Background(), cc.TokenSource(context.Background()))
		for i := 0; i < 2; i++ {
			resp, err := client.Get(srv.URL + "/api")
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			want := "hello Bearer tok" + string(rune('0'+round))
			if string(b) != want {
				t.Fatalf("round %d call %d: %q, want %q (another token's response?)", round, i, b, want)
			}
		}
	}
	if tokens.Load() != 2 {
		t.Fatalf("%d token fetches, want 2 (token POSTs are never cached)", tokens.Load())
	}
	wantRequests(t, n, 4, "2 token fetches + 1 API call per token")
	urls, _ := reqcache.Installed().Cache().URLs(context.Background())
	if len(urls) != 1 || strings.Contains(strings.Join(urls, ""), "tok") {
		t.Fatalf("stored URLs %v, want the API URL alone, no token", urls)
	}
}

// A library that clones http.DefaultTransport for a client of its own, as
// microsoft/kiota-http-go, regclient, Azure go-autorest, GetStream's
// stream-chat-go and tailscale's tsnet do: before reqcache kept
// DefaultTransport a *http.Transport this line panicked.
func newLibraryClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 32
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

func TestLibraryCloningDefaultTransportWorksUncached(t *testing.T) {
	srv, n := newOrigin(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	install(t, nil)
	c := newLibraryClient() // must not panic
	for i := 0; i < 2; i++ {
		resp, err := c.Get(srv.URL + "/lib")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	wantRequests(t, n, 2, "a clone of DefaultTransport is a plain transport")

	// session.Wrap caches a client the program holds.
	wrapped, s, err := session.Wrap(c, config.Default())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := 0; i < 2; i++ {
		resp, err := wrapped.Get(srv.URL + "/lib")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	wantRequests(t, n, 3, "the wrapped clone asks once")
}

// hashicorp/go-retryablehttp builds its own transport (go-cleanhttp): not
// cached by Install; session.Wrap on its HTTPClient caches it.
func TestRetryableHTTPBuildsItsOwnTransport(t *testing.T) {
	srv, n := newOrigin(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	install(t, nil)
	rc := retryablehttp.NewClient()
	rc.Logger = nil
	for i := 0; i < 2; i++ {
		resp, err := rc.Get(srv.URL + "/r")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	wantRequests(t, n, 2, "retryablehttp's own transport is not the default")

	wrapped, s, err := session.Wrap(rc.HTTPClient, config.Default())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rc.HTTPClient = wrapped
	for i := 0; i < 3; i++ {
		resp, err := rc.Get(srv.URL + "/r")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	wantRequests(t, n, 3, "retryablehttp through session.Wrap asks once more")
}

// coder/websocket dials through http.DefaultClient when given no client:
// the upgrade passes straight through the cache.
func TestWebsocketDialThroughDefaultClient(t *testing.T) {
	srv, n := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		for {
			typ, msg, err := c.Read(r.Context())
			if err != nil {
				return
			}
			c.Write(r.Context(), typ, append([]byte("echo:"), msg...))
		}
	})
	install(t, nil)
	for i := 0; i < 2; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/ws", nil)
		if err != nil {
			cancel()
			t.Fatal(err)
		}
		if err := c.Write(ctx, websocket.MessageText, []byte("ping")); err != nil {
			t.Fatal(err)
		}
		_, msg, err := c.Read(ctx)
		if err != nil || string(msg) != "echo:ping" {
			t.Fatalf("read %q %v", msg, err)
		}
		c.Close(websocket.StatusNormalClosure, "")
		cancel()
	}
	wantRequests(t, n, 2, "every dial reaches the origin")
}
