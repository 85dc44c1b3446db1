package clients_test

import (
	"context"
	"encoding/json"
	"fmt"
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
	"github.com/reqcache/reqcache/stores"
)

// These tests change http.DefaultTransport and http.DefaultClient: none
// runs in parallel.

// newOrigin starts a loopback origin that counts the requests reaching it.
func newOrigin(t *testing.T, h http.HandlerFunc) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		recordShape(t, r)
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

// githubAPI answers like api.github.com: every response varies on the
// credentials, carries an ETag and "private, max-age=60"; a matching
// If-None-Match is a 304 (which does not count against GitHub's rate limit:
// go-github's README recommends an HTTP cache for this).
func githubAPI(t *testing.T) (srv *httptest.Server, full, notModified *atomic.Int64) {
	full, notModified = new(atomic.Int64), new(atomic.Int64)
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		recordShape(t, r)
		login := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		etag := `"` + login + `-v1"`
		w.Header().Add("Vary", "Accept, Authorization, Cookie, X-GitHub-OTP")
		w.Header().Add("Vary", "Accept-Encoding, Accept, X-Requested-With")
		w.Header().Set("Cache-Control", "private, max-age=60, s-maxage=60")
		if answeredNotModified(w, r, etag, notModified) {
			return
		}
		full.Add(1)
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		json.NewEncoder(w).Encode(map[string]any{"login": login, "id": len(login)})
	}))
	t.Cleanup(srv.Close)
	return srv, full, notModified
}

func TestGoGitHubCachedPerToken(t *testing.T) {
	srv, full, notModified := githubAPI(t)
	install(t, func(c *config.Config) { c.CacheControl = true })
	base, _ := url.Parse(srv.URL + "/")
	client := func(token string) *github.Client {
		gh := github.NewClient(nil).WithAuthToken(token)
		gh.BaseURL = base
		return gh
	}
	get := func(ctx context.Context, token string) session.Info {
		t.Helper()
		u, resp, err := client(token).Users.Get(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		if u.GetLogin() != token {
			t.Fatalf("token %s was answered for %q", token, u.GetLogin())
		}
		return session.InfoOf(resp.Response)
	}
	// Within max-age: one full response per token, then hits.
	for _, token := range []string{"alice", "bob", "alice", "bob", "alice"} {
		get(context.Background(), token)
	}
	if full.Load() != 2 || notModified.Load() != 0 {
		t.Fatalf("%d full responses and %d 304s, want 2 and 0", full.Load(), notModified.Load())
	}
	// Past max-age (here: asked to revalidate), each token's entry is
	// revalidated with its own ETag: 304s, answered from the cache.
	for _, token := range []string{"alice", "bob"} {
		if info := get(reqcache.Refresh(context.Background()), token); !info.Revalidated || !info.FromCache {
			t.Fatalf("%s: %+v, want a revalidated answer from the cache", token, info)
		}
	}
	if full.Load() != 2 || notModified.Load() != 2 {
		t.Fatalf("%d full responses and %d 304s, want 2 and 2", full.Load(), notModified.Load())
	}
	// A third token never sees another's entry.
	get(context.Background(), "carol")
	if full.Load() != 3 {
		t.Fatalf("%d full responses, want 3", full.Load())
	}
	urls, _ := reqcache.Installed().Cache().URLs(context.Background())
	for _, u := range urls {
		if strings.Contains(u, "alice") || strings.Contains(u, "bob") {
			t.Fatalf("a token reached a stored URL: %s", u)
		}
	}
}

// newTLSOrigin is newOrigin over TLS (its certificate: srv.Certificate()).
func newTLSOrigin(t *testing.T, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		recordShape(t, r)
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// answeredNotModified answers a GET whose If-None-Match is etag with a 304
// (counted in n) and reports it; else it sets the ETag and reports false.
func answeredNotModified(w http.ResponseWriter, r *http.Request, etag string, n *atomic.Int64) bool {
	w.Header().Set("ETag", etag)
	if r.Method != http.MethodGet || r.Header.Get("If-None-Match") != etag {
		return false
	}
	n.Add(1)
	w.WriteHeader(http.StatusNotModified)
	return true
}

// secretsStayOut fails when one of the secrets shows in the installed
// cache: a stored entry (URL, headers, body) or an export line.
func secretsStayOut(t *testing.T, secrets ...string) {
	t.Helper()
	sess := reqcache.Installed()
	var export strings.Builder
	if _, err := sess.Cache().Export(context.Background(), &export, session.Filter{}); err != nil {
		t.Fatal(err)
	}
	texts := []string{"export: " + export.String()}
	sess.Store().Scan(context.Background(), func(e *stores.Entry) bool {
		texts = append(texts, fmt.Sprintf("stored entry: %s %v %v %s", e.URL, e.Header, e.RequestHeader, e.Body))
		return true
	})
	for _, text := range texts {
		for _, s := range secrets {
			if s != "" && strings.Contains(text, s) {
				t.Fatalf("a secret in the clear in the %.300s", text)
			}
		}
	}
}
