package clients_test

import (
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	miniocreds "github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/reqcache/reqcache"
	"github.com/reqcache/reqcache/config"
)

// minioOrigin imitates S3 (path style) for one bucket, as MinIO serves it:
// objects with ETag and an old Last-Modified and no Cache-Control, a
// ListObjectsV2 listing (GET /BUCKET?list-type=2) with no cache headers at
// all, and PutObject. Object bodies name the access key that signed.
func minioOrigin(t *testing.T) (host string, objectGets, lists *atomic.Int64) {
	var mu sync.Mutex
	objects := map[string]string{}
	objectGets, lists = new(atomic.Int64), new(atomic.Int64)
	srv, _ := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		who := "anonymous"
		if _, cred, ok := strings.Cut(r.Header.Get("Authorization"), "Credential="); ok {
			who, _, _ = strings.Cut(cred, "/")
		}
		w.Header().Set("X-Amz-Request-Id", fmt.Sprint(time.Now().UnixNano()))
		bucket, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
		switch {
		case r.Method == http.MethodPut && key != "":
			b, _ := io.ReadAll(r.Body)
			if strings.HasPrefix(r.Header.Get("X-Amz-Content-Sha256"), "STREAMING-") {
				b = awsUnchunk(b)
			}
			objects[key] = string(b)
			w.Header().Set("ETag", fmt.Sprintf(`"%x"`, len(objects)))
		case r.Method == http.MethodGet && key == "" && r.URL.Query().Get("list-type") == "2":
			lists.Add(1)
			type content struct{ Key, ETag string }
			out := struct {
				XMLName  xml.Name `xml:"ListBucketResult"`
				Name     string
				KeyCount int
				Contents []content
			}{Name: bucket}
			for k := range objects {
				out.Contents = append(out.Contents, content{Key: k, ETag: `"x"`})
			}
			sort.Slice(out.Contents, func(i, j int) bool { return out.Contents[i].Key < out.Contents[j].Key })
			out.KeyCount = len(out.Contents)
			w.Header().Set("Content-Type", "application/xml")
			xml.NewEncoder(w).Encode(out)
		case (r.Method == http.MethodGet || r.Method == http.MethodHead) && key != "":
			body, ok := objects[key]
			if !ok {
				w.Header().Set("Content-Type", "application/xml")
				w.WriteHeader(http.StatusNotFound)
				io.WriteString(w, `<Error><Code>NoSuchKey</Code></Error>`)
				return
			}
			if r.Method == http.MethodGet {
				objectGets.Add(1)
			}
			w.Header().Set("ETag", fmt.Sprintf(`"%x"`, len(body)))
			w.Header().Set("Last-Modified", time.Now().Add(-48*time.Hour).UTC().Format(http.TimeFormat))
			w.Header().Set("Content-Type", "text/csv")
			body += " for " + who
			w.Header().Set("Content-Length", fmt.Sprint(len(body)))
			io.WriteString(w, body)
		default:
			w.WriteHeader(http.StatusNotImplemented)
		}
	})
	return strings.TrimPrefix(srv.URL, "http://"), objectGets, lists
}

func minioClient(t *testing.T, host, akid string, tr http.RoundTripper) *minio.Client {
	t.Helper()
	c, err := minio.New(host, &minio.Options{Creds: miniocreds.NewStaticV4(akid, "secret-of-"+akid, ""), Region: "us-east-1", Transport: tr, BucketLookup: minio.BucketLookupPath})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func minioGet(t *testing.T, c *minio.Client, key string) string {
	t.Helper()
	o, err := c.GetObject(context.Background(), "reports", key, minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	b, err := io.ReadAll(o)
	if err != nil {
		t.Fatalf("GetObject %s: %v", key, err)
	}
	return string(b)
}

func minioPut(t *testing.T, c *minio.Client, key, body string) {
	t.Helper()
	if _, err := c.PutObject(context.Background(), "reports", key, strings.NewReader(body), int64(len(body)), minio.PutObjectOptions{ContentType: "text/csv"}); err != nil {
		t.Fatalf("PutObject: %v", err)
	}
}

func minioList(t *testing.T, c *minio.Client) []string {
	t.Helper()
	var keys []string
	for o := range c.ListObjects(context.Background(), "reports", minio.ListObjectsOptions{}) {
		if o.Err != nil {
			t.Fatalf("ListObjects: %v", o.Err)
		}
		keys = append(keys, o.Key)
	}
	return keys
}

// minio-go builds its own transport: Install alone does not cache it;
// Options.Transport with reqcache.Transport does, per access key (SigV4);
// a PutObject invalidates its object for everyone. A listing (another URI)
// is not invalidated by a PutObject and, with no cache headers, is fresh
// forever under the defaults; the setting docs/installing.md gives for
// S3 listings reads the writes.
func TestMinIO(t *testing.T) {
	host, objectGets, lists := minioOrigin(t)
	install(t, nil)
	sdkSecrets("secret-of-AKIDALICE", "secret-of-AKIDBOB")
	minioPut(t, minioClient(t, host, "AKIDALICE", nil), "q3.csv", "a,b")
	own := minioClient(t, host, "AKIDALICE", nil)
	for range 2 {
		minioGet(t, own, "q3.csv")
	}
	wantRequests(t, objectGets, 2, "minio-go's own transport, after Install alone (uncached)")

	alice := minioClient(t, host, "AKIDALICE", reqcache.Transport(nil))
	for i := range 4 {
		if got := minioGet(t, alice, "q3.csv"); got != "a,b for AKIDALICE" {
			t.Fatalf("read %d: %q", i, got)
		}
	}
	wantRequests(t, objectGets, 3, "four reads by one access key")
	if got := minioGet(t, minioClient(t, host, "AKIDBOB", reqcache.Transport(nil)), "q3.csv"); got != "a,b for AKIDBOB" {
		t.Fatalf("another key read %q", got)
	}
	if got := strings.Join(minioList(t, alice), ","); got != "q3.csv" {
		t.Fatalf("listing %q", got)
	}
	minioPut(t, alice, "q3.csv", "c,d")
	minioPut(t, alice, "q4.csv", "e,f")
	if got := minioGet(t, alice, "q3.csv"); got != "c,d for AKIDALICE" {
		t.Fatalf("after a PutObject, read %q", got)
	}
	if got := strings.Join(minioList(t, alice), ","); got != "q3.csv" {
		t.Fatalf("under the defaults, a listing after a PutObject is %q: want the cached one (documented staleness)", got)
	}
	wantRequests(t, lists, 1, "two listings under the defaults")

	install(t, func(c *config.Config) {
		c.URLsExpireAfter = []config.URLExpiration{{Pattern: "*list-type=2*", ExpireAfter: config.DoNotCache}}
	})
	alice = minioClient(t, host, "AKIDALICE", reqcache.Transport(nil))
	minioPut(t, alice, "q5.csv", "g,h")
	if got := strings.Join(minioList(t, alice), ","); got != "q3.csv,q4.csv,q5.csv" {
		t.Fatalf("with the documented settings, a listing after a PutObject is %q", got)
	}
	if got := minioGet(t, alice, "q5.csv"); got != "g,h for AKIDALICE" {
		t.Fatalf("read %q", got)
	}
	if got := minioGet(t, alice, "q5.csv"); got != "g,h for AKIDALICE" {
		t.Fatalf("read %q", got)
	}
	secretsStayOut(t, "secret-of-AKIDALICE", "secret-of-AKIDBOB")
}

// awsUnchunk is the payload of an aws-chunked body (minio-go signs
// uploads chunk by chunk: "SIZE;chunk-signature=SIG\r\nDATA\r\n"...).
func awsUnchunk(b []byte) []byte {
	var out []byte
	for len(b) > 0 {
		line, rest, ok := strings.Cut(string(b), "\r\n")
		if !ok {
			break
		}
		var n int
		fmt.Sscanf(line, "%x", &n)
		if n == 0 || len(rest) < n {
			break
		}
		out = append(out, rest[:n]...)
		b = []byte(strings.TrimPrefix(rest[n:], "\r\n"))
	}
	return out
}
