package session_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// The steps below RoundTrip, driven one at a time through the seams of
// seams_test.go: the writer's storability decision for a response, then
// lookup and the reuse decision for a request, with no origin and no
// round trip.
func TestStepsBelowRoundTrip(t *testing.T) {
	s := newSession(t, nil)
	respond := func(req *http.Request, header http.Header, body string) *http.Response {
		return &http.Response{StatusCode: http.StatusOK, Status: "200 OK", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header: header, Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body)), Request: req}
	}
	req := func(url string, h ...string) *http.Request {
		r := mustRequest(t, http.MethodGet, url, nil)
		for i := 0; i+1 < len(h); i += 2 {
			r.Header.Set(h[i], h[i+1])
		}
		return r
	}

	a := req("http://o.test/a")
	if stored, why := s.Receive(a, respond(a, http.Header{"Cache-Control": {"max-age=60"}}, "a")); !stored {
		t.Fatalf("a fresh response was not stored: %q", why)
	}
	if key, found, action := s.Find(req("http://o.test/a")); found != key || action != "serve" {
		t.Fatalf("Find /a: key %q, found %q, %s; want the primary key, served", key, found, action)
	}

	b := req("http://o.test/b")
	if stored, why := s.Receive(b, respond(b, http.Header{"Cache-Control": {"no-store"}}, "b")); stored || why != "no-store" {
		t.Fatalf("a no-store response: stored %v, why %q", stored, why)
	}
	if _, found, action := s.Find(req("http://o.test/b")); found != "" || action != "fetch" {
		t.Fatalf("Find /b: found %q, %s; want nothing, fetch", found, action)
	}

	v := req("http://o.test/v", "Accept", "text/html")
	if stored, _ := s.Receive(v, respond(v, http.Header{"Cache-Control": {"max-age=60"}, "Vary": {"Accept"}}, "<p>")); !stored {
		t.Fatal("a variant was not stored")
	}
	if key, found, action := s.Find(req("http://o.test/v", "Accept", "text/html")); found == "" || found == key || action != "serve" {
		t.Fatalf("Find /v as text/html: key %q, found %q, %s; want its variant through the index, served", key, found, action)
	}
	if _, found, action := s.Find(req("http://o.test/v", "Accept", "application/json")); found != "" || action != "fetch" {
		t.Fatalf("Find /v as JSON: found %q, %s; want nothing, fetch", found, action)
	}
}
