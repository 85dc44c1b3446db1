package clients_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"cloud.google.com/go/storage"
	"google.golang.org/api/option"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/reqcache/reqcache"
)

// gcsOrigin serves objects the way GCS's XML API does (GET /BUCKET/OBJECT),
// naming the service account of a V4 signed URL it was reached with.
func gcsOrigin(t *testing.T) (host string, n *atomic.Int64) {
	srv, n := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		who := "anonymous"
		if cred := r.URL.Query().Get("X-Goog-Credential"); cred != "" {
			who, _, _ = strings.Cut(cred, "/")
		}
		w.Header().Set("ETag", `"g1"`)
		w.Header().Set("Last-Modified", time.Now().Add(-48*time.Hour).UTC().Format(http.TimeFormat))
		w.Header().Set("Cache-Control", "private, max-age=300")
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintf(w, "%s for %s", r.URL.Path, who)
	})
	return strings.TrimPrefix(srv.URL, "http://"), n
}

// GCS V4 signed URLs (X-Goog-Signature, X-Goog-Date, … in the query)
// differ on every signing: one service account's downloads hit, two never
// share.
func TestGCSSignedURLs(t *testing.T) {
	host, n := gcsOrigin(t)
	install(t, nil)
	signed := func(account string, i int) string {
		u, err := storage.SignedURL("reports", "q3.csv", &storage.SignedURLOptions{
			GoogleAccessID: account,
			SignBytes:      func(b []byte) ([]byte, error) { s := sha256.Sum256(b); return s[:], nil },
			Method:         http.MethodGet,
			Expires:        time.Now().Add(time.Duration(10+i) * time.Minute),
			Scheme:         storage.SigningSchemeV4,
			Hostname:       host,
			Insecure:       true,
		})
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	download := func(u string) string {
		t.Helper()
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	for i := range 3 {
		if got := download(signed("alice@proj.iam.gserviceaccount.com", i)); got != "/reports/q3.csv for alice@proj.iam.gserviceaccount.com" {
			t.Fatalf("alice's download %d: %q", i, got)
		}
	}
	wantRequests(t, n, 1, "three signed downloads by one account")
	if got := download(signed("bob@proj.iam.gserviceaccount.com", 9)); !strings.HasSuffix(got, "for bob@proj.iam.gserviceaccount.com") {
		t.Fatalf("bob got %q: two accounts share an entry", got)
	}
	wantRequests(t, n, 2, "another account")
}

// cloud.google.com/go/storage builds its own transport: Install alone does
// not cache it; option.WithHTTPClient and reqcache.Transport do.
func TestGCSClient(t *testing.T) {
	host, n := gcsOrigin(t)
	t.Setenv("STORAGE_EMULATOR_HOST", "http://"+host)
	install(t, nil)
	read := func(c *storage.Client) string {
		t.Helper()
		r, err := c.Bucket("reports").Object("q3.csv").NewReader(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		b, _ := io.ReadAll(r)
		return string(b)
	}
	for _, tc := range []struct {
		name  string
		opts  []option.ClientOption
		after int64
	}{
		{"Install alone", nil, 2},
		{"WithHTTPClient(reqcache.Transport)", []option.ClientOption{option.WithHTTPClient(&http.Client{Transport: reqcache.Transport(nil)})}, 3},
	} {
		c, err := storage.NewClient(context.Background(), append(tc.opts, option.WithoutAuthentication())...)
		if err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if got := read(c); got != "/reports/q3.csv for anonymous" {
				t.Fatalf("%s: read %q", tc.name, got)
			}
		}
		c.Close()
		wantRequests(t, n, tc.after, tc.name)
	}
}

// k8s.io/client-go builds its own transport; WrapTransport puts the cache
// in front. The API server marks everything "no-cache, private" and sends
// no validator: nothing is reused, and a watch streams event by event,
// never replayed.
func TestKubernetesClient(t *testing.T) {
	release := make(chan struct{})
	var watches atomic.Int64
	srv, n := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache, private")
		w.Header().Set("Content-Type", "application/json")
		event := func(name string) {
			fmt.Fprintf(w, `{"type":"ADDED","object":{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":%q,"namespace":"default","resourceVersion":"1"}}}`+"\n", name)
			w.(http.Flusher).Flush()
		}
		switch {
		case r.URL.Query().Get("watch") == "true":
			watches.Add(1)
			event("first")
			<-release
			event("second")
		default:
			io.WriteString(w, `{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"settings","namespace":"default","resourceVersion":"1"},"data":{"mode":"fast"}}`)
		}
	})
	install(t, nil)
	cfg := &rest.Config{Host: srv.URL}
	cfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper { return reqcache.Transport(rt) }
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		cm, err := cs.CoreV1().ConfigMaps("default").Get(context.Background(), "settings", metav1.GetOptions{})
		if err != nil || cm.Data["mode"] != "fast" {
			t.Fatalf("get: %+v %v", cm, err)
		}
	}
	wantRequests(t, n, 2, "two gets marked no-cache, private, without a validator")

	for round := range 2 {
		w, err := cs.CoreV1().ConfigMaps("default").Watch(context.Background(), metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		first := <-w.ResultChan() // before the origin sends the next event
		if first.Object.(metav1.Object).GetName() != "first" {
			t.Fatalf("first event: %+v", first)
		}
		if round == 0 {
			close(release)
		}
		if second := <-w.ResultChan(); second.Object.(metav1.Object).GetName() != "second" {
			t.Fatalf("second event: %+v", second)
		}
		w.Stop()
	}
	if got := watches.Load(); got != 2 {
		t.Fatalf("the origin saw %d watches, want 2 (a watch is never replayed)", got)
	}
	if got, _ := reqcache.Installed().Cache().Len(context.Background()); got != 0 {
		t.Fatalf("%d entries stored from responses marked no-cache without a validator", got)
	}
}
