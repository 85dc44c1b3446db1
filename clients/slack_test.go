package clients_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/slack-go/slack"

	"github.com/reqcache/reqcache"
	"github.com/reqcache/reqcache/config"
)

// slackOrigin imitates Slack's Web API: methods answer JSON marked
// "private, no-cache, no-store, must-revalidate", as Slack does, to GETs
// (users.prefs.get) and form POSTs that carry the token in the body
// (users.info) alike; a private file (under the API URL, where slack-go
// sends the token) is "private, max-age=3600" with an ETag. Every answer
// names the token's user.
func slackOrigin(t *testing.T) (api string, methods, files *atomic.Int64) {
	methods, files = new(atomic.Int64), new(atomic.Int64)
	srv, _ := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		token := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		if token == "" {
			r.ParseForm()
			token = r.PostForm.Get("token")
		}
		user := map[string]string{"xoxb-alice-secret": "U0ALICE", "xoxb-bob-secret": "U0BOB"}[token]
		if strings.HasPrefix(r.URL.Path, "/api/files/") {
			files.Add(1)
			w.Header().Set("Cache-Control", "private, max-age=3600")
			w.Header().Set("ETag", `"f1"`)
			w.Header().Set("Content-Type", "text/plain")
			fmt.Fprintf(w, "file for %s", user)
			return
		}
		methods.Add(1)
		w.Header().Set("Cache-Control", "private, no-cache, no-store, must-revalidate")
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		switch strings.TrimPrefix(r.URL.Path, "/api/") {
		case "users.info":
			json.NewEncoder(w).Encode(map[string]any{"ok": true, "user": map[string]any{"id": r.PostForm.Get("user"), "name": user}})
		case "users.prefs.get":
			json.NewEncoder(w).Encode(map[string]any{"ok": true, "prefs": map[string]any{"muted_channels": user}})
		default:
			json.NewEncoder(w).Encode(map[string]any{"ok": false, "error": "unknown_method"})
		}
	})
	return srv.URL + "/api/", methods, files
}

// slack-go's default client is a zero http.Client: Install caches it. Slack
// marks its API answers no-store: never stored, whether a GET or a form
// POST carrying the token in its body, even with POST allowed. A private
// file download, cacheable, is cached per token. No token is stored.
func TestSlack(t *testing.T) {
	api, methods, files := slackOrigin(t)
	install(t, func(c *config.Config) { c.AllowableMethods = []string{"GET", "HEAD", "POST"} })
	sdkSecrets("xoxb-alice-secret", "xoxb-bob-secret")
	alice := slack.New("xoxb-alice-secret", slack.OptionAPIURL(api))
	for range 2 {
		if u, err := alice.GetUserInfo("U0ALICE"); err != nil || u.Name != "U0ALICE" {
			t.Fatalf("users.info: %+v %v", u, err)
		}
		if _, err := alice.GetUserPrefs(); err != nil {
			t.Fatalf("users.prefs.get: %v", err)
		}
	}
	wantRequests(t, methods, 4, "four calls answered no-store")
	download := func(c *slack.Client) string {
		t.Helper()
		var b bytes.Buffer
		if err := c.GetFileContext(context.Background(), api+"files/F1/report.txt", &b); err != nil {
			t.Fatalf("GetFile: %v", err)
		}
		return b.String()
	}
	for range 3 {
		if got := download(alice); got != "file for U0ALICE" {
			t.Fatalf("download %q", got)
		}
	}
	wantRequests(t, files, 1, "three downloads of a private file by one token")
	bob := slack.New("xoxb-bob-secret", slack.OptionAPIURL(api), slack.OptionHTTPClient(&http.Client{Transport: reqcache.Transport(nil)}))
	if got := download(bob); got != "file for U0BOB" {
		t.Fatalf("another token downloaded %q", got)
	}
	wantRequests(t, files, 2, "another token")
	if n, _ := reqcache.Installed().Cache().Len(context.Background()); n != 2 {
		t.Fatalf("%d entries, want the two files' alone", n)
	}
	secretsStayOut(t, "xoxb-alice-secret", "xoxb-bob-secret")
}
