package clients_test

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8"

	"github.com/reqcache/reqcache"
	"github.com/reqcache/reqcache/config"
)

// esOrigin imitates an Elasticsearch node over TLS with basic auth: GET
// /INDEX/_doc/ID answers the document's current version (no cache headers,
// as Elasticsearch sends none), POST /INDEX/_update/ID changes it, and
// every answer carries X-Elastic-Product, which the client checks.
func esOrigin(t *testing.T) (srv *httptest.Server, gets *atomic.Int64) {
	var mu sync.Mutex
	version := map[string]int{}
	gets = new(atomic.Int64)
	srv = newTLSOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		w.Header().Set("X-Elastic-Product", "Elasticsearch")
		w.Header().Set("Content-Type", "application/vnd.elasticsearch+json;compatible-with=8")
		user, _, _ := r.BasicAuth()
		parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
		switch {
		case r.Method == http.MethodPost && len(parts) == 3 && parts[1] == "_update":
			io.Copy(io.Discard, r.Body)
			version[parts[0]+"/"+parts[2]]++
			fmt.Fprintf(w, `{"_index":%q,"_id":%q,"result":"updated"}`, parts[0], parts[2])
		case r.Method == http.MethodGet && len(parts) == 3 && parts[1] == "_doc":
			gets.Add(1)
			v := version[parts[0]+"/"+parts[2]]
			json.NewEncoder(w).Encode(map[string]any{"_index": parts[0], "_id": parts[2], "_version": v + 1, "found": true,
				"_source": map[string]any{"title": fmt.Sprintf("v%d", v+1), "reader": user}})
		default:
			io.WriteString(w, `{"name":"node-1","cluster_name":"test","version":{"number":"8.19.0"},"tagline":"You Know, for Search"}`)
		}
	})
	return srv, gets
}

func esClient(t *testing.T, srv *httptest.Server, user string, cfg func(*elasticsearch.Config)) *elasticsearch.Client {
	t.Helper()
	c := elasticsearch.Config{Addresses: []string{srv.URL}, Username: user, Password: "pw-" + user, Transport: reqcache.Transport(nil)}
	cfg(&c)
	es, err := elasticsearch.NewClient(c)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	return es
}

func esDoc(t *testing.T, es *elasticsearch.Client) string {
	t.Helper()
	res, err := es.Get("reports", "q3")
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	defer res.Body.Close()
	var doc struct {
		Source struct{ Title, Reader string } `json:"_source"`
	}
	if err := json.NewDecoder(res.Body).Decode(&doc); err != nil || res.IsError() {
		t.Fatalf("Get: %s %v", res.Status(), err)
	}
	return doc.Source.Title + " for " + doc.Source.Reader
}

func esUpdate(t *testing.T, es *elasticsearch.Client) {
	t.Helper()
	res, err := es.Update("reports", "q3", strings.NewReader(`{"doc":{"title":"new"}}`))
	if err != nil || res.IsError() {
		t.Fatalf("Update: %v %v", res, err)
	}
	res.Body.Close()
}

// go-elasticsearch configures the transport it is given after the fact:
// reqcache.Transport(nil) is a *http.Transport, so its options work (on a
// wrapper, CACert failed NewClient, "unable to set CA certificate for
// transport of type *reqcache.cachedTransport", and CertificateFingerprint
// was dropped: x509: unknown authority). CertificateFingerprint sets the
// transport's TLS dialer, and the requests are cached per user. CACert
// clones the transport first: the clone works, uncached (net/http does not
// copy the hook a transport is cached by); the roots set on the transport
// itself, as docs/installing.md shows, are cached. Elasticsearch sends no
// cache headers, so under the defaults a document is fresh forever and an
// update (POST /INDEX/_update/ID, another URI) leaves the cached one in
// place; the settings docs/installing.md gives for Elasticsearch read
// their writes.
func TestElasticsearch(t *testing.T) {
	srv, gets := esOrigin(t)
	sdkSecrets("pw-elastic", "pw-reader")
	caCert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	fingerprint := sha256.Sum256(srv.Certificate().Raw)
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	withRoots := func(c *elasticsearch.Config) {
		tr := reqcache.Transport(nil).(*http.Transport)
		tr.TLSClientConfig = &tls.Config{RootCAs: roots}
		c.Transport = tr
	}

	install(t, nil)
	byFingerprint := esClient(t, srv, "elastic", func(c *elasticsearch.Config) { c.CertificateFingerprint = hex.EncodeToString(fingerprint[:]) })
	for range 3 {
		if got := esDoc(t, byFingerprint); got != "v1 for elastic" {
			t.Fatalf("read %q", got)
		}
	}
	wantRequests(t, gets, 1, "three reads through a client with CertificateFingerprint")
	byCACert := esClient(t, srv, "elastic", func(c *elasticsearch.Config) { c.CACert = caCert })
	for range 2 {
		if got := esDoc(t, byCACert); got != "v1 for elastic" {
			t.Fatalf("through CACert, read %q", got)
		}
	}
	wantRequests(t, gets, 3, "two reads through CACert's clone of the transport (uncached)")
	reader := esClient(t, srv, "reader", withRoots)
	for range 2 {
		if got := esDoc(t, reader); got != "v1 for reader" {
			t.Fatalf("another user, through the roots set on the transport, read %q", got)
		}
	}
	wantRequests(t, gets, 4, "two reads by another user")
	esUpdate(t, byFingerprint)
	if got := esDoc(t, byFingerprint); got != "v1 for elastic" {
		t.Fatalf("under the defaults, a read after an update got %q: want the cached v1 (documented staleness)", got)
	}

	// The settings docs/installing.md gives: documents never cached,
	// searches for seconds.
	install(t, func(c *config.Config) {
		c.URLsExpireAfter = []config.URLExpiration{
			{Pattern: "*/_doc/*", ExpireAfter: config.DoNotCache},
			{Pattern: "*/_search", ExpireAfter: config.After(30 * time.Second)},
		}
	})
	es := esClient(t, srv, "elastic", withRoots)
	if got := esDoc(t, es); got != "v2 for elastic" {
		t.Fatalf("read %q", got)
	}
	esUpdate(t, es)
	if got := esDoc(t, es); got != "v3 for elastic" {
		t.Fatalf("with the documented settings, a read after an update got %q, want v3", got)
	}
	secretsStayOut(t, "pw-elastic", "pw-reader")
}
