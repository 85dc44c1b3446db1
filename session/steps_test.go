package session_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/reqcache/reqcache/session"
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

// The 304 merge alone (RFC 9111 §4.3.4): a 304 that changes nothing the
// entry keeps — for a response that needs validation at every use, stale
// before and after — is answered from it and not written; one that brings
// a lifetime and fields is written with them (a renewed lifetime moves the
// expiry: that alone is written); Set-Cookie is answered to its caller but
// never stored; a 304 that says no-store takes the entry out.
func TestRevalidationMergeStep(t *testing.T) {
	rec := &recorder{}
	s := newSession(t, nil, session.WithObserver(rec))
	sets := func() int {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		return rec.store["set"]
	}
	stored := func(url string) http.Header {
		for r, err := range s.Cache().Responses(context.Background(), session.Filter{}) {
			if err != nil {
				t.Fatal(err)
			}
			if r.URL == url {
				return r.Header
			}
		}
		return nil
	}
	const url = "http://o.test/r"
	req := func() *http.Request { return mustRequest(t, http.MethodGet, url, nil) }
	notModified := func(h http.Header) *http.Response {
		return &http.Response{StatusCode: http.StatusNotModified, Status: "304 Not Modified", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header: h, Body: http.NoBody}
	}
	first := req()
	ok200 := &http.Response{StatusCode: http.StatusOK, Status: "200 OK", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{"Cache-Control": {"max-age=0"}, "Etag": {`"v1"`}, "X-Version": {"1"}}, Body: io.NopCloser(strings.NewReader("body")), ContentLength: 4, Request: first}
	if ok, why := s.Receive(first, ok200); !ok {
		t.Fatalf("the 200 was not stored: %q", why)
	}
	if _, ok := s.Revalidated(mustRequest(t, http.MethodGet, "http://o.test/other", nil), notModified(http.Header{})); ok {
		t.Fatal("a 304 merged into an entry that does not exist")
	}

	before := sets()
	if h, ok := s.Revalidated(req(), notModified(http.Header{"Etag": {`"v1"`}, "Cache-Control": {"max-age=0"}})); !ok || h.Get("X-Version") != "1" {
		t.Fatalf("an unchanged 304 answered %v (found %v), want the stored fields", h, ok)
	}
	if sets() != before {
		t.Fatal("a 304 that changed nothing the entry keeps was written")
	}

	if h, _ := s.Revalidated(req(), notModified(http.Header{"Etag": {`"v1"`}, "Cache-Control": {"max-age=600"}, "X-Version": {"2"}, "Set-Cookie": {"session=abc"}})); h.Get("X-Version") != "2" {
		t.Fatalf("a 304 with new fields answered %v, want its fields merged", h)
	}
	if sets() != before+1 {
		t.Fatalf("a 304 with a lifetime and new fields made %d writes, want 1", sets()-before)
	}
	if h := stored(url); h.Get("Cache-Control") != "max-age=600" || h.Get("X-Version") != "2" || h.Get("Set-Cookie") != "" {
		t.Fatalf("stored after the merge: %v; want the 304's fields, no Set-Cookie", h)
	}

	s.Revalidated(req(), notModified(http.Header{"Etag": {`"v1"`}, "Cache-Control": {"no-store"}}))
	if h := stored(url); h != nil {
		t.Fatalf("a 304 with no-store left the entry stored: %v", h)
	}
}

// The parts step alone (RFC 9111 §3.3-3.4): a 206 with a strong validator
// is kept as the URL's part; a part of another representation (another
// ETag) replaces it rather than joining it; a part that touches the
// stored one joins it, and parts that cover the whole representation are
// stored as its complete 200; a 206 without a strong validator is not
// kept.
func TestPartsStep(t *testing.T) {
	s := newSession(t, nil)
	const url = "http://o.test/doc"
	ranged := func(r string) *http.Request {
		req := mustRequest(t, http.MethodGet, url, nil)
		if r != "" {
			req.Header.Set("Range", r)
		}
		return req
	}
	part := func(req *http.Request, etag, contentRange, body string) *http.Response {
		h := http.Header{"Cache-Control": {"max-age=60"}, "Content-Range": {contentRange}}
		if etag != "" {
			h.Set("Etag", etag)
		}
		return &http.Response{StatusCode: http.StatusPartialContent, Status: "206 Partial Content", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header: h, Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body)), Request: req}
	}

	if req := ranged("bytes=0-3"); s.ReceivePart(req, part(req, `W/"weak"`, "bytes 0-3/10", "0123")) {
		t.Fatal("a 206 with only a weak validator was kept")
	}
	if req := ranged("bytes=0-3"); !s.ReceivePart(req, part(req, `"v1"`, "bytes 0-3/10", "0123")) {
		t.Fatal("a 206 with a strong validator was not kept")
	}
	if _, found, _ := s.Find(ranged("")); found != "" {
		t.Fatalf("one part answered the whole representation (found %q)", found)
	}
	// 4-9 touches 0-3, but of another representation (v2): it replaces
	// the stored part instead of joining it into a whole of two versions.
	if req := ranged("bytes=4-9"); !s.ReceivePart(req, part(req, `"v2"`, "bytes 4-9/10", "456789")) {
		t.Fatal("a part of another representation was not kept")
	}
	if _, found, _ := s.Find(ranged("")); found != "" {
		t.Fatalf("parts of two representations were joined into a whole (found %q)", found)
	}
	if req := ranged("bytes=0-3"); !s.ReceivePart(req, part(req, `"v2"`, "bytes 0-3/10", "0123")) {
		t.Fatal("the last part was not kept")
	}
	if key, found, action := s.Find(ranged("")); found != key || action != "serve" {
		t.Fatalf("parts covering the whole: found %q for key %q, %s; want the complete response, served", found, key, action)
	}
	for r, err := range s.Cache().Responses(context.Background(), session.Filter{}) {
		if err != nil {
			t.Fatal(err)
		}
		if r.StatusCode == http.StatusOK && string(r.Body) != "0123456789" {
			t.Fatalf("the joined representation is %q, want 0123456789", r.Body)
		}
	}
}
