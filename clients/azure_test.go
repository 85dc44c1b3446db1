package clients_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"

	"github.com/reqcache/reqcache"
)

// azureOrigin imitates Azure Blob Storage (Azurite's path style,
// /ACCOUNT/CONTAINER/BLOB): a GET answers the blob's current version with
// ETag and Last-Modified and no Cache-Control, as Azure does, honouring
// x-ms-range (which azblob sends instead of Range) with a 206; a PUT
// stores a new version. The body names who read it: the SharedKey account,
// or "sas" for a SAS URL.
func azureOrigin(t *testing.T) (serviceURL string, gets *atomic.Int64) {
	var mu sync.Mutex
	version := map[string]int{}
	gets = new(atomic.Int64)
	srv, _ := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		who := "anonymous"
		if a, ok := strings.CutPrefix(r.Header.Get("Authorization"), "SharedKey "); ok {
			who, _, _ = strings.Cut(a, ":")
		} else if r.URL.Query().Get("sig") != "" {
			who = "sas"
		}
		w.Header().Set("X-Ms-Version", r.Header.Get("X-Ms-Version"))
		w.Header().Set("X-Ms-Request-Id", fmt.Sprint(time.Now().UnixNano()))
		switch r.Method {
		case http.MethodPut:
			io.Copy(io.Discard, r.Body)
			version[r.URL.Path]++
			w.Header().Set("ETag", fmt.Sprintf(`"0x%d"`, version[r.URL.Path]))
			w.Header().Set("Last-Modified", time.Now().UTC().Format(http.TimeFormat))
			w.WriteHeader(http.StatusCreated)
		case http.MethodGet:
			gets.Add(1)
			v := version[r.URL.Path]
			body := fmt.Sprintf(`{"v":%d,"reader":%q}`, v, who)
			w.Header().Set("ETag", fmt.Sprintf(`"0x%d"`, v))
			w.Header().Set("Last-Modified", time.Now().Add(-48*time.Hour).UTC().Format(http.TimeFormat))
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("X-Ms-Blob-Type", "BlockBlob")
			w.Header().Set("Accept-Ranges", "bytes")
			var first, last int
			if rng := r.Header.Get("X-Ms-Range"); rng != "" {
				if _, err := fmt.Sscanf(rng, "bytes=%d-%d", &first, &last); err != nil || last >= len(body) {
					t.Errorf("x-ms-range %q", rng)
				}
				w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", first, last, len(body)))
				w.WriteHeader(http.StatusPartialContent)
				io.WriteString(w, body[first:last+1])
				return
			}
			io.WriteString(w, body)
		}
	})
	return srv.URL + "/devstoreaccount1", gets
}

// azureKey is an account key as Azure hands them out: 64 random bytes.
func azureKey(account string) string {
	return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte(account[:1]), 64))
}

// The cached client azblob's documentation shows: ClientOptions.Transport.
func azureOptions() *azblob.ClientOptions {
	return &azblob.ClientOptions{ClientOptions: azcore.ClientOptions{Transport: &http.Client{Transport: reqcache.Transport(nil)}}}
}

func download(t *testing.T, c *azblob.Client, rng azblob.HTTPRange) string {
	t.Helper()
	resp, err := c.DownloadStream(context.Background(), "reports", "q3.json", &azblob.DownloadStreamOptions{Range: rng})
	if err != nil {
		t.Fatalf("DownloadStream: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// azblob (azcore) builds its own http.Client: Install alone does not
// cache it; ClientOptions.Transport does, per account under SharedKey
// (signed anew every second), per grant for a SAS URL, and a ranged read
// (x-ms-range) gets its bytes, never the whole blob. An upload invalidates
// the blob for every principal. No SAS signature is stored in the clear.
func TestAzureBlob(t *testing.T) {
	service, gets := azureOrigin(t)
	install(t, nil)
	sdkSecrets(azureKey("devstoreaccount1"), azureKey("otheraccount"))
	shared := func(account string, opts *azblob.ClientOptions) *azblob.Client {
		cred, err := azblob.NewSharedKeyCredential(account, azureKey(account))
		if err != nil {
			t.Fatal(err)
		}
		c, err := azblob.NewClientWithSharedKeyCredential(service, cred, opts)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	owner := shared("devstoreaccount1", nil)
	if _, err := owner.UploadBuffer(context.Background(), "reports", "q3.json", []byte("x"), nil); err != nil {
		t.Fatalf("UploadBuffer: %v", err)
	}
	for range 2 {
		download(t, owner, azblob.HTTPRange{})
	}
	if got := download(t, owner, azblob.HTTPRange{Offset: 2, Count: 3}); got != `v":` {
		t.Fatalf("a ranged read, uncached: %q", got)
	}
	wantRequests(t, gets, 3, "azblob's own client, after Install alone (uncached)")

	cached := shared("devstoreaccount1", azureOptions())
	for i := range 4 {
		if got := download(t, cached, azblob.HTTPRange{}); got != `{"v":1,"reader":"devstoreaccount1"}` {
			t.Fatalf("read %d: %q", i, got)
		}
		time.Sleep(300 * time.Millisecond) // SharedKey signs x-ms-date: the signature changes every second
	}
	wantRequests(t, gets, 4, "four SharedKey reads by one account over more than a second")
	if got := download(t, cached, azblob.HTTPRange{Offset: 2, Count: 3}); got != `v":` {
		t.Fatalf("a ranged read (x-ms-range) of the stored blob got %q, want its bytes 2-4", got)
	}
	if got := download(t, shared("otheraccount", azureOptions()), azblob.HTTPRange{}); got != `{"v":1,"reader":"otheraccount"}` {
		t.Fatalf("another account read %q", got)
	}
	before := gets.Load()

	// A SAS URL: the grant's own entries, reused across requests.
	cred, _ := azblob.NewSharedKeyCredential("devstoreaccount1", azureKey("devstoreaccount1"))
	qp, err := sas.BlobSignatureValues{
		Protocol: sas.ProtocolHTTPSandHTTP, ExpiryTime: time.Now().Add(time.Hour).UTC(),
		Permissions: (&sas.BlobPermissions{Read: true, Write: true}).String(), ContainerName: "reports", BlobName: "q3.json",
	}.SignWithSharedKey(cred)
	if err != nil {
		t.Fatal(err)
	}
	sdkSecrets(qp.Signature())
	sasClient, err := blob.NewClientWithNoCredential(service+"/reports/q3.json?"+qp.Encode(), &blob.ClientOptions{ClientOptions: azureOptions().ClientOptions})
	if err != nil {
		t.Fatal(err)
	}
	readSAS := func() string {
		t.Helper()
		resp, err := sasClient.DownloadStream(context.Background(), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	for range 3 {
		if got := readSAS(); got != `{"v":1,"reader":"sas"}` {
			t.Fatalf("SAS read %q", got)
		}
	}
	if got := gets.Load() - before; got != 1 {
		t.Fatalf("three reads through one SAS URL: %d origin requests, want 1", got)
	}
	secretsStayOut(t, qp.Signature(), url.QueryEscape(qp.Signature()))

	// An upload through the cached client invalidates the blob for all.
	if _, err := cached.UploadBuffer(context.Background(), "reports", "q3.json", []byte("y"), nil); err != nil {
		t.Fatal(err)
	}
	if got := download(t, cached, azblob.HTTPRange{}); got != `{"v":2,"reader":"devstoreaccount1"}` {
		t.Fatalf("after an upload, the owner read %q", got)
	}
	if got := readSAS(); got != `{"v":2,"reader":"sas"}` {
		t.Fatalf("after an upload, the SAS read %q", got)
	}
}
