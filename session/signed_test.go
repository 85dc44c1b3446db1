package session_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/reqcache/reqcache/config"
	"github.com/reqcache/reqcache/session"
	"github.com/reqcache/reqcache/stores"
)

// s3Origin imitates S3 for one object: GetObject answers the current
// version (with ETag and Last-Modified, no Cache-Control, as S3 does) and
// says whom it served; PutObject makes a new version.
func s3Origin(t *testing.T) *origin {
	var mu sync.Mutex
	version := 1
	return newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		who := "anonymous"
		if a := r.Header.Get("Authorization"); a != "" {
			_, cred, _ := strings.Cut(a, "Credential=")
			who, _, _ = strings.Cut(cred, "/")
		} else if c := r.URL.Query().Get("X-Amz-Credential"); c != "" {
			who, _, _ = strings.Cut(c, "/")
		}
		switch r.Method {
		case http.MethodPut:
			version++
			w.Header().Set("ETag", fmt.Sprintf(`"v%d"`, version))
		case http.MethodGet:
			w.Header().Set("ETag", fmt.Sprintf(`"v%d"`, version))
			w.Header().Set("Last-Modified", time.Now().Add(-24*time.Hour).UTC().Format(http.TimeFormat))
			fmt.Fprintf(w, "v%d for %s", version, who)
		}
	})
}

// signedRequest is the nth request an SDK signs for akid: signature, date,
// invocation id and retry header change every time.
func signedRequest(t *testing.T, method, rawURL, akid string, n int) *http.Request {
	t.Helper()
	req := mustRequest(t, method, rawURL, nil)
	date := time.Date(2026, 12, 5, 10, 0, n, 0, time.UTC).Format("20060102T150405Z")
	req.Header.Set("Authorization", fmt.Sprintf("AWS4-HMAC-SHA256 Credential=%s/20261205/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=%064x", akid, n*7919))
	req.Header.Set("X-Amz-Date", date)
	req.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
	req.Header.Set("Amz-Sdk-Invocation-Id", fmt.Sprintf("0b7e-%d", n))
	req.Header.Set("Amz-Sdk-Request", "attempt=1; max=3")
	return req
}

// presignedURL is the nth SigV4 presigned URL akid makes for the object.
func presignedURL(base, akid string, n int) string {
	q := url.Values{
		"X-Amz-Algorithm":     {"AWS4-HMAC-SHA256"},
		"X-Amz-Credential":    {akid + "/20261205/us-east-1/s3/aws4_request"},
		"X-Amz-Date":          {time.Date(2026, 12, 5, 10, 0, n, 0, time.UTC).Format("20060102T150405Z")},
		"X-Amz-Expires":       {"900"},
		"X-Amz-SignedHeaders": {"host"},
		"X-Amz-Signature":     {fmt.Sprintf("%064x", n*104729)},
		"x-id":                {"GetObject"},
	}
	return base + "?" + q.Encode()
}

// One principal's signed GetObjects make one origin request and one entry,
// two principals never share, a PutObject (x-id=PutObject) invalidates the
// object for everyone, and no signature is stored.
func TestSignedRequestsHitPerPrincipal(t *testing.T) {
	o := s3Origin(t)
	s := newSession(t, func(c *config.Config) { c.ExpireAfter = config.After(10 * time.Minute) })
	c := s.Client()
	object := o.URL + "/bucket/reports/q3.csv"
	n := 0
	next := func() int { n++; return n }

	for range 6 {
		body, _ := do(t, c, signedRequest(t, http.MethodGet, object+"?x-id=GetObject", "AKIDALICE", next()))
		if body != "v1 for AKIDALICE" {
			t.Fatalf("alice's GetObject: %q", body)
		}
	}
	wantCount(t, o, 1)
	if got, _ := s.Cache().Len(context.Background()); got != 1 {
		t.Fatalf("six signings by one principal: %d entries, want 1", got)
	}
	if body, _ := do(t, c, signedRequest(t, http.MethodGet, object+"?x-id=GetObject", "AKIDBOB", next())); body != "v1 for AKIDBOB" {
		t.Fatalf("bob got %q: two principals share an entry", body)
	}
	wantCount(t, o, 2)

	for range 3 {
		if body, _ := get(t, c, presignedURL(object, "AKIDALICE", next())); body != "v1 for AKIDALICE" {
			t.Fatalf("alice's presigned download: %q", body)
		}
	}
	wantCount(t, o, 3)
	if body, _ := get(t, c, presignedURL(object, "AKIDBOB", next())); body != "v1 for AKIDBOB" {
		t.Fatalf("bob's presigned download got %q", body)
	}
	wantCount(t, o, 4)

	do(t, c, signedRequest(t, http.MethodPut, object+"?x-id=PutObject", "AKIDALICE", next()))
	for _, tc := range []struct{ who, via string }{{"AKIDALICE", "header"}, {"AKIDBOB", "header"}, {"AKIDBOB", "presigned"}} {
		req := signedRequest(t, http.MethodGet, object+"?x-id=GetObject", tc.who, next())
		if tc.via == "presigned" {
			req = mustRequest(t, http.MethodGet, presignedURL(object, tc.who, next()), nil)
		}
		if body, _ := do(t, c, req); body != "v2 for "+tc.who {
			t.Fatalf("%s (%s) after alice's PutObject: %q, want the new version", tc.who, tc.via, body)
		}
	}

	err := s.Store().Scan(context.Background(), func(e *stores.Entry) bool {
		text := fmt.Sprint(e.URL, e.RequestHeader)
		if strings.Contains(text, "Signature=") && !strings.Contains(text, "Signature="+session.Redacted) || strings.Contains(text, "AKIDALICE") {
			t.Errorf("a stored entry holds a signature or an access key: %s", text)
		}
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A signing scheme reqcache does not know plugs in with WithPrincipal.
func TestPrincipalFuncForOtherSchemes(t *testing.T) {
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		keyID, _, _ := strings.Cut(strings.TrimPrefix(r.Header.Get("X-Signature"), "keyId="), ",")
		fmt.Fprintf(w, "for %s", keyID)
	})
	principal := func(req *http.Request) (string, bool) {
		v, ok := strings.CutPrefix(req.Header.Get("X-Signature"), "keyId=")
		if !ok {
			return "", false
		}
		keyID, _, _ := strings.Cut(v, ",")
		return keyID, true
	}
	s := newSession(t, func(c *config.Config) {
		c.IgnoredParameters = append(c.IgnoredParameters, "X-Signature") // stored REDACTED
	}, session.WithPrincipal(principal))
	signed := func(keyID string, n int) *http.Request {
		req := mustRequest(t, http.MethodGet, o.URL+"/feed", nil)
		req.Header.Set("X-Signature", fmt.Sprintf("keyId=%s,sig=%x", keyID, n*31))
		return req
	}
	for n := range 3 {
		if body, _ := do(t, s.Client(), signed("k1", n)); body != "for k1" {
			t.Fatalf("k1: %q", body)
		}
	}
	if body, _ := do(t, s.Client(), signed("k2", 9)); body != "for k2" {
		t.Fatalf("k2 got %q", body)
	}
	wantCount(t, o, 2)
}
