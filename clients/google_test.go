package clients_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	books "google.golang.org/api/books/v1"
	"google.golang.org/api/option"
	htransport "google.golang.org/api/transport/http"

	"github.com/reqcache/reqcache"
)

// googleKeys are API keys of the shape Google issues ("AIza" and 35 more).
const (
	googleKeyAlice = "AIzaSyAlice0123456789abcdefghijklmnopqr"
	googleKeyBob   = "AIzaSyBob00123456789abcdefghijklmnopqrs"
)

// booksOrigin imitates a Google API called with an API key (the Books
// API): no key is a 403, as Google answers; a volume is "private,
// max-age=0, must-revalidate" with an ETag, so every read revalidates, and
// a matching If-None-Match is a 304. The body names the key's project.
func booksOrigin(t *testing.T) (endpoint string, full, notModified *atomic.Int64) {
	full, notModified = new(atomic.Int64), new(atomic.Int64)
	srv, _ := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		project := map[string]string{googleKeyAlice: "alice", googleKeyBob: "bob"}[r.URL.Query().Get("key")]
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
		w.Header().Set("Vary", "Origin, X-Origin, Referer")
		if project == "" {
			w.WriteHeader(http.StatusForbidden)
			json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": 403, "message": "Method doesn't allow unregistered callers", "status": "PERMISSION_DENIED"}})
			return
		}
		etag := `"` + project + `-1"`
		w.Header().Set("Cache-Control", "private, max-age=0, must-revalidate, no-transform")
		if answeredNotModified(w, r, etag, notModified) {
			return
		}
		full.Add(1)
		id := strings.TrimPrefix(r.URL.Path, "/books/v1/volumes/")
		json.NewEncoder(w).Encode(map[string]any{"kind": "books#volume", "id": id, "etag": project, "volumeInfo": map[string]any{"title": "for " + project}})
	})
	return srv.URL + "/", full, notModified
}

// google.golang.org/api with an API key builds its own transport (a clone
// of http.DefaultTransport): Install alone does not cache it. Its
// option.WithHTTPClient drops option.WithAPIKey (the client is used as
// given: Google answers 403); the wiring that works puts the key in front
// of the cache with transport/http.NewTransport. Each key is a principal of
// its own, revalidated with 304s, and no key is stored in the clear.
func TestGoogleAPIKey(t *testing.T) {
	endpoint, full, notModified := booksOrigin(t)
	install(t, nil)
	sdkSecrets(googleKeyAlice, googleKeyBob)
	read := func(opts ...option.ClientOption) (string, error) {
		svc, err := books.NewService(context.Background(), append(opts, option.WithEndpoint(endpoint))...)
		if err != nil {
			t.Fatal(err)
		}
		v, err := svc.Volumes.Get("zyTCAlFPjgYC").Do()
		if err != nil {
			return "", err
		}
		return v.VolumeInfo.Title, nil
	}
	for range 2 {
		if got, err := read(option.WithAPIKey(googleKeyAlice)); err != nil || got != "for alice" {
			t.Fatalf("WithAPIKey alone: %q %v", got, err)
		}
	}
	wantRequests(t, full, 2, "the SDK's own transport, after Install alone (uncached)")

	if _, err := read(option.WithAPIKey(googleKeyAlice), option.WithHTTPClient(&http.Client{Transport: reqcache.Transport(nil)})); err == nil || !strings.Contains(err.Error(), "403") {
		t.Fatalf("WithHTTPClient with WithAPIKey: %v, want the 403 of a request without its key (the SDK drops the key)", err)
	}

	keyed := func(key string) option.ClientOption {
		tr, err := htransport.NewTransport(context.Background(), reqcache.Transport(nil), option.WithAPIKey(key))
		if err != nil {
			t.Fatal(err)
		}
		return option.WithHTTPClient(&http.Client{Transport: tr})
	}
	for i := range 3 {
		if got, err := read(keyed(googleKeyAlice)); err != nil || got != "for alice" {
			t.Fatalf("alice's read %d: %q %v", i, got, err)
		}
	}
	wantRequests(t, full, 3, "three reads by one key: one full response")
	wantRequests(t, notModified, 2, "three reads by one key: the others revalidated")
	if got, err := read(keyed(googleKeyBob)); err != nil || got != "for bob" {
		t.Fatalf("another key read %q %v", got, err)
	}
	wantRequests(t, full, 4, "another key")
	secretsStayOut(t, googleKeyAlice, googleKeyBob)
}
