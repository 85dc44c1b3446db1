package shapes

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestClassify(t *testing.T) {
	secrets := []string{"hunter2", "SIGVALUE"}
	for _, c := range []struct{ name, value, want string }{
		{"Authorization", "SharedKey acct:c2ln", "auth:SharedKey"},
		{"Authorization", "AWS4-HMAC-SHA256 Credential=AKID/20261207/us-east-1/s3/aws4_request", "auth:AWS4-HMAC-SHA256"},
		{"X-Vault-Token", "hvs.hunter2", Secret},
		{"sig", "SIGVALUE", Secret},
		{"key", "AIzaSyA1234567890abcdefghijklmnopqrstuv", GoogleKey},
		{"X-Ms-Range", "bytes=2-4", Range},
		{"X-Ms-Date", "Mon, 07 Dec 2026 10:00:00 GMT", HTTPDate},
		{"X-Amz-Date", "20261207T100000Z", ISOBasic},
		{"se", "2026-12-08T10:00:00Z", RFC3339},
		{"X-Ms-Client-Request-Id", "0f8fad5b-d9cb-469f-a165-70867728950e", UUID},
		{"X-Amz-Content-Sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", Token},
		{"Sec-Websocket-Key", "GyT+HRd5kWLgcfmkNaVkmA==", Token},
		{"Sec-Websocket-Key", "UhptlquHfonHxUOYmHDsfA==", Token}, // no digit: a run once drew it
		{"Content-Type", "application/octet-stream", "=application/octet-stream"},
		{"If-None-Match", `W/"a-1"`, ETag},
		{"X-Amz-Expires", "900", Number},
		{"X-Ms-Version", "2025-11-05", "=2025-11-05"},
		{"Accept", "application/vnd.github.v3+json", "=application/vnd.github.v3+json"},
		{"X-Stainless-Runtime-Version", "go1.26.8", Text},
		{"X-Goog-Api-Client", "gl-go/1.26.8 gdcl/0.312.0", Text},
	} {
		if got := classify(c.name, c.value, secrets); got != c.want {
			t.Errorf("%s: %q is %q, want %q", c.name, c.value, got, c.want)
		}
	}
}

func TestOfAndTheCorpus(t *testing.T) {
	u, _ := url.Parse("https://acct.blob.core.windows.net/c/b?sv=2025-11-05&sig=SIGVALUE")
	r := &http.Request{Method: "GET", URL: u, Header: http.Header{"X-Ms-Range": {"bytes=0-9"}, "User-Agent": {"azsdk-go"}}}
	s := Of("AzureBlob", r, []string{"SIGVALUE"})
	if s.Header["X-Ms-Range"] != Range || s.Header["User-Agent"] != "" || s.Query["sig"] != Secret || !s.HasCredential() {
		t.Fatalf("shape %+v", s)
	}
	corpus := Corpus()
	if len(corpus) == 0 {
		t.Fatal("an empty corpus: run scripts/sdk-shapes.sh")
	}
	for _, c := range corpus {
		if c.SDK == "" || c.Method == "" {
			t.Fatalf("a shape without SDK or method: %+v", c)
		}
	}
	if enc := string(Encode(corpus)); !strings.HasPrefix(enc, "[\n{") {
		t.Fatalf("encoding %.40q", enc)
	}
}
