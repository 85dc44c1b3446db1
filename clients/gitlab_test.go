package clients_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/reqcache/reqcache"
)

// gitlabOrigin imitates GitLab's REST API: PRIVATE-TOKEN names the user; a
// project is "max-age=0, private, must-revalidate" with a weak ETag, as
// GitLab (Rails) answers, and a matching If-None-Match is a 304; PUT
// changes the project's description.
func gitlabOrigin(t *testing.T) (api string, full, notModified *atomic.Int64) {
	var mu sync.Mutex
	description := "v1"
	full, notModified = new(atomic.Int64), new(atomic.Int64)
	srv, _ := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		user := map[string]string{"glpat-alice-secret": "alice", "glpat-bob-secret": "bob"}[r.Header.Get("Private-Token")]
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "max-age=0, private, must-revalidate")
		if user == "" || !strings.HasPrefix(r.URL.Path, "/api/v4/projects/") {
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"message":"401 Unauthorized"}`)
			return
		}
		if r.Method == http.MethodPut {
			var in struct{ Description string }
			json.NewDecoder(r.Body).Decode(&in)
			description = in.Description
		}
		etag := `W/"` + user + "-" + description + `"`
		if answeredNotModified(w, r, etag, notModified) {
			return
		}
		if r.Method == http.MethodGet {
			full.Add(1)
		}
		json.NewEncoder(w).Encode(map[string]any{"id": 7, "path_with_namespace": "group/app", "description": description + " for " + user})
	})
	return srv.URL + "/api/v4", full, notModified
}

// gitlab client-go sends through go-retryablehttp with its own transport:
// Install alone does not cache it; WithHTTPClient and reqcache.Transport
// do, per token, each read revalidated with a 304; an edit invalidates
// the project for everyone. No token is stored.
func TestGitLab(t *testing.T) {
	api, full, notModified := gitlabOrigin(t)
	install(t, nil)
	sdkSecrets("glpat-alice-secret", "glpat-bob-secret")
	client := func(token string, opts ...gitlab.ClientOptionFunc) *gitlab.Client {
		c, err := gitlab.NewClient(token, append(opts, gitlab.WithBaseURL(api))...)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	read := func(c *gitlab.Client) string {
		t.Helper()
		p, _, err := c.Projects.GetProject("group/app", nil)
		if err != nil {
			t.Fatalf("GetProject: %v", err)
		}
		return p.Description
	}
	own := client("glpat-alice-secret")
	for range 2 {
		read(own)
	}
	wantRequests(t, full, 2, "client-go's own transport, after Install alone (uncached)")

	cached := func(token string) *gitlab.Client {
		return client(token, gitlab.WithHTTPClient(&http.Client{Transport: reqcache.Transport(nil)}))
	}
	alice := cached("glpat-alice-secret")
	for i := range 3 {
		if got := read(alice); got != "v1 for alice" {
			t.Fatalf("read %d: %q", i, got)
		}
	}
	wantRequests(t, full, 3, "three reads by one token: one full answer")
	wantRequests(t, notModified, 2, "three reads by one token: the others revalidated")
	bob := cached("glpat-bob-secret")
	if got := read(bob); got != "v1 for bob" {
		t.Fatalf("another token read %q", got)
	}
	if _, _, err := alice.Projects.EditProject("group/app", &gitlab.EditProjectOptions{Description: gitlab.Ptr("v2")}); err != nil {
		t.Fatalf("EditProject: %v", err)
	}
	if got := read(bob); got != "v2 for bob" {
		t.Fatalf("after an edit, another token read %q", got)
	}
	secretsStayOut(t, "glpat-alice-secret", "glpat-bob-secret")
}
