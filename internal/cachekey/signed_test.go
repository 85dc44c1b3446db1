package cachekey

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// sigV4 is an Authorization header as the AWS SDKs sign a request: the
// access key is the principal; date, scope and signature change with every
// request.
func sigV4(akid string, n int) string {
	return fmt.Sprintf("AWS4-HMAC-SHA256 Credential=%s/2026120%d/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=%064x", akid, n%10, n)
}

// presigned is a SigV4 presigned URL (or, with goog, a GCS V4 signed URL)
// of the nth signing by akid.
func presigned(path, akid string, n int, goog bool) string {
	prefix := "X-Amz-"
	if goog {
		prefix = "X-Goog-"
	}
	q := url.Values{}
	q.Set(prefix+"Algorithm", "AWS4-HMAC-SHA256")
	q.Set(prefix+"Credential", akid+"/2026120"+fmt.Sprint(n%10)+"/us-east-1/s3/aws4_request")
	q.Set(prefix+"Date", fmt.Sprintf("20261205T1%05dZ", n))
	q.Set(prefix+"Expires", fmt.Sprint(900+n))
	q.Set(prefix+"SignedHeaders", "host")
	q.Set(prefix+"Signature", fmt.Sprintf("%064x", n))
	if !goog {
		q.Set("X-Amz-Security-Token", fmt.Sprintf("token-%d", n))
		q.Set("x-id", "GetObject")
	}
	return "https://bucket.s3.amazonaws.com" + path + "?" + q.Encode()
}

func request(t *testing.T, method, rawURL string, header http.Header) *http.Request {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	if header == nil {
		header = http.Header{}
	}
	return &http.Request{Method: method, URL: u, Header: header}
}

// One principal's signed requests share a key whatever their signature,
// date and SDK headers; two principals never do (under
// separate_credentials: a secret); the secrets are never in what is stored.
func TestSignedRequestsKeyedByPrincipal(t *testing.T) {
	k := New(nil, true, nil) // no ignored parameters, every header matched: the strictest keys
	secret := []byte(strings.Repeat("k", 32))
	signed := func(akid string, n int) *http.Request {
		return request(t, "GET", "https://bucket.s3.amazonaws.com/reports/q3.csv?x-id=GetObject", http.Header{
			"Authorization":         {sigV4(akid, n)},
			"X-Amz-Date":            {fmt.Sprintf("20261205T1%05dZ", n)},
			"X-Amz-Content-Sha256":  {"UNSIGNED-PAYLOAD"},
			"Amz-Sdk-Invocation-Id": {fmt.Sprintf("inv-%d", n)},
			"Amz-Sdk-Request":       {fmt.Sprintf("attempt=1; max=3; n=%d", n)},
			"Accept":                {"*/*"},
		})
	}
	alice := k.Primary(signed("AKIDALICE", 1), nil, secret)
	for n := 2; n < 5; n++ {
		if got := k.Primary(signed("AKIDALICE", n), nil, secret); got != alice {
			t.Fatalf("signing %d by the same principal: key %s, want %s", n, got, alice)
		}
	}
	if k.Primary(signed("AKIDBOB", 1), nil, secret) == alice {
		t.Fatal("two principals share a key")
	}
	other := request(t, "GET", "https://bucket.s3.amazonaws.com/reports/q3.csv?x-id=GetObject", http.Header{"Authorization": {"Bearer AKIDALICE"}})
	if k.Primary(other, nil, secret) == alice {
		t.Fatal("a bearer token equal to the access key shares the signed request's key")
	}

	for _, goog := range []bool{false, true} {
		t.Run(fmt.Sprintf("presigned URL, GCS %v", goog), func(t *testing.T) {
			first := request(t, "GET", presigned("/reports/q3.csv", "AKIDALICE", 1, goog), nil)
			key := k.Primary(first, nil, secret)
			for n := 2; n < 5; n++ {
				if got := k.Primary(request(t, "GET", presigned("/reports/q3.csv", "AKIDALICE", n, goog), nil), nil, secret); got != key {
					t.Fatalf("presigning %d by the same principal: another key", n)
				}
			}
			if k.Primary(request(t, "GET", presigned("/reports/q3.csv", "AKIDBOB", 1, goog), nil), nil, secret) == key {
				t.Fatal("two principals' presigned URLs share a key")
			}
			if k.Primary(request(t, "GET", presigned("/reports/q4.csv", "AKIDALICE", 1, goog), nil), nil, secret) == key {
				t.Fatal("two objects share a key")
			}
			stored := k.RedactedURL(first.URL)
			for _, secretPart := range []string{"AKIDALICE", fmt.Sprintf("%064x", 1), "token-1"} {
				if strings.Contains(stored, secretPart) {
					t.Fatalf("the stored URL %s holds %s", stored, secretPart)
				}
			}
			if k.Bare(first, nil) {
				t.Fatal("a presigned request counts as one without credentials")
			}
		})
	}
}

// The SDK's operation hint (x-id) neither splits keys nor keeps a PutObject
// from invalidating the object's GET: both name one resource.
func TestOperationHintLeavesTheResource(t *testing.T) {
	k := New(nil, false, nil)
	get := request(t, "GET", "https://bucket.s3.amazonaws.com/reports/q3.csv?x-id=GetObject", nil)
	put := request(t, "PUT", "https://bucket.s3.amazonaws.com/reports/q3.csv?x-id=PutObject", nil)
	plain := request(t, "GET", "https://bucket.s3.amazonaws.com/reports/q3.csv", nil)
	if k.URIKey(get) != k.URIKey(put) || k.URIKey(get) != k.URIKey(plain) {
		t.Fatal("x-id splits the resource: a PutObject would not invalidate the GetObject")
	}
	if k.Key(get, nil) != k.Key(plain, nil) {
		t.Fatal("x-id splits the GET's key")
	}
	// Query parameters only: a JSON field or header of that name counts.
	post := func() *http.Request {
		return request(t, "POST", "https://api.example.com/op", http.Header{"Content-Type": {"application/json"}})
	}
	if k.Key(post(), []byte(`{"x-id":"a"}`)) == k.Key(post(), []byte(`{"x-id":"b"}`)) {
		t.Fatal("an x-id field of a JSON body left the key")
	}
}

// A text that names a URL is rewritten only when it holds something to
// redact: an unsorted query stays as written.
func TestRedactURLTextLeavesCleanURLsAlone(t *testing.T) {
	k := New([]string{"api_key"}, false, nil)
	for in, want := range map[string]string{
		"/x?b=1&a=2":                  "/x?b=1&a=2",
		"/x?b=1&api_key=s":            "/x?api_key=REDACTED&b=1",
		"/x?X-Amz-Signature=abc&a=1":  "/x?X-Amz-Signature=REDACTED&a=1",
		"https://u:p@example.com/x?a": "https://example.com/x?a",
	} {
		if got := k.RedactURLText(in); got != want {
			t.Errorf("RedactURLText(%q) = %q, want %q", in, got, want)
		}
	}
}
