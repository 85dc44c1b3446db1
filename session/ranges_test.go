package session_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/reqcache/reqcache/config"
	"github.com/reqcache/reqcache/session"
)

func TestRangeServedFromCompleteEntry(t *testing.T) {
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "x", time.Time{}, strings.NewReader("0123456789"))
	})
	s := newSession(t, nil)
	c := s.Client()
	get(t, c, o.URL)
	for _, tc := range []struct {
		rng, body, contentRange string
		fromCache               bool
	}{
		{"bytes=0-1", "01", "bytes 0-1/10", true},
		{"bytes=7-", "789", "bytes 7-9/10", true},
		{"bytes=-3", "789", "bytes 7-9/10", true},
		{"bytes=8-100", "89", "bytes 8-9/10", true},
		{"bytes=0-1,4-5", "", "", false}, // several ranges: the origin answers
		{"bytes=20-30", "", "", false},   // unsatisfiable: the origin answers
	} {
		req := mustRequest(t, http.MethodGet, o.URL, nil)
		req.Header.Set("Range", tc.rng)
		before := o.count()
		body, resp := do(t, c, req)
		fromCache := o.count() == before
		if fromCache != tc.fromCache {
			t.Fatalf("%s: from cache %v, want %v", tc.rng, fromCache, tc.fromCache)
		}
		if !tc.fromCache {
			continue
		}
		if resp.StatusCode != http.StatusPartialContent || body != tc.body || resp.Header.Get("Content-Range") != tc.contentRange {
			t.Fatalf("%s: %d %q %q", tc.rng, resp.StatusCode, body, resp.Header.Get("Content-Range"))
		}
	}
	// Partial answers from the origin are never stored or shared.
	if n, _ := s.Cache().Len(t.Context()); n != 1 {
		t.Fatalf("%d entries", n)
	}
	if body, _ := get(t, c, o.URL); body != "0123456789" {
		t.Fatalf("full body after ranges: %q", body)
	}
}

func TestInvalidExpiresIsStale(t *testing.T) {
	for _, expires := range [][]string{
		{"Thu, 01 Jan 2099  00:00:00 GMT"},                                 // two spaces
		{"Thu, 01 Jan 2099 0:00:00 GMT"},                                   // one-digit hour
		{"Thu, 01 Jan 2099 00:00:00 GMT", "Thu, 01 Jan 2099 00:00:00 GMT"}, // two lines
		{"Thu, 01 Jan 2099 00:00:00 PST"},
	} {
		o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header()["Expires"] = expires
			io.WriteString(w, "x")
		})
		s := newSession(t, func(c *config.Config) { c.CacheControl = true })
		c := s.Client()
		get(t, c, o.URL)
		if _, resp := get(t, c, o.URL); session.InfoOf(resp).FromCache {
			t.Fatalf("Expires %q was trusted", expires)
		}
	}
	// A valid one in each of the three formats is trusted. (RFC 850's
	// two-digit year: "50" is 2050; "99" would be 1999, RFC 9110 §5.6.7.)
	for _, v := range []string{"Thu, 01 Jan 2099 00:00:00 GMT", "Saturday, 01-Jan-50 00:00:00 GMT", "Thu Jan  1 00:00:00 2099"} {
		o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Expires", v)
			io.WriteString(w, "x")
		})
		s := newSession(t, func(c *config.Config) { c.CacheControl = true })
		c := s.Client()
		get(t, c, o.URL)
		if _, resp := get(t, c, o.URL); !session.InfoOf(resp).FromCache {
			t.Fatalf("valid Expires %q not trusted", v)
		}
	}
}

// RFC 9111 §3.3-3.4: 206 responses with a strong validator are stored,
// serve the ranges they cover, join with the next part of the same
// representation, and become the complete response once they cover it.
func TestPartialContentStoredAndJoined(t *testing.T) {
	const content = "0123456789"
	etag := `"v1"`
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", etag)
		w.Header().Set("Cache-Control", "max-age=3600")
		http.ServeContent(w, r, "x", time.Time{}, strings.NewReader(content))
	})
	c := newSession(t, func(c *config.Config) { c.CacheControl = true }).Client()
	ask := func(rng string) (string, *http.Response, bool) { return askRange(t, c, o, "/file", rng) }

	for _, step := range []struct {
		rng, body, contentRange string
		cached                  bool
	}{
		{"bytes=0-4", "01234", "bytes 0-4/10", false}, // stored as the part 0-4
		{"bytes=0-4", "01234", "bytes 0-4/10", true},
		{"bytes=1-3", "123", "bytes 1-3/10", true},
		{"bytes=3-6", "3456", "bytes 3-6/10", false}, // beyond the part: joined, 0-6
		{"bytes=5-6", "56", "bytes 5-6/10", true},
		{"bytes=7-", "789", "bytes 7-9/10", false}, // touches it: 0-9, complete
		{"", "0123456789", "", true},               // the complete 200
		{"bytes=-2", "89", "bytes 8-9/10", true},
	} {
		body, resp, cached := ask(step.rng)
		if body != step.body || cached != step.cached || resp.Header.Get("Content-Range") != step.contentRange {
			t.Fatalf("Range %q: %q, Content-Range %q, cached %v; want %q, %q, %v",
				step.rng, body, resp.Header.Get("Content-Range"), cached, step.body, step.contentRange, step.cached)
		}
		if want := map[bool]int{true: http.StatusPartialContent, false: http.StatusOK}[step.rng != ""]; resp.StatusCode != want {
			t.Fatalf("Range %q: status %d, want %d", step.rng, resp.StatusCode, want)
		}
	}
}

func TestPartialContentNeedsAStrongValidatorAndOneRepresentation(t *testing.T) {
	var etag, body string
	serveBody := func(w http.ResponseWriter, r *http.Request) {
		if etag != "" {
			w.Header().Set("ETag", etag)
		}
		w.Header().Set("Cache-Control", "max-age=3600")
		http.ServeContent(w, r, "x", time.Time{}, strings.NewReader(body))
	}
	o := newOrigin(t, serveBody)
	c := newSession(t, func(c *config.Config) { c.CacheControl = true }).Client()
	ask := func(rng string) (string, bool) {
		got, _, cached := askRange(t, c, o, "/f", rng)
		return got, cached
	}
	body = "abcdefghij"
	for _, tag := range []string{"", `W/"weak"`} {
		etag = tag
		ask("bytes=0-4")
		if _, cached := ask("bytes=0-4"); cached {
			t.Fatalf("a part with ETag %q was stored", tag)
		}
	}
	// A part whose body disagrees with its Content-Range is not kept.
	o.serve(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"c"`)
		w.Header().Set("Cache-Control", "max-age=3600")
		w.Header().Set("Content-Range", "bytes 4-9/10")
		w.WriteHeader(http.StatusPartialContent)
		io.WriteString(w, "01234")
	})
	for i := 0; i < 2; i++ {
		if got, cached := ask("bytes=-5"); cached || got != "01234" {
			t.Fatalf("inconsistent part: %q cached=%v", got, cached)
		}
	}
	o.serve(serveBody)
	// Parts of two representations never join.
	etag = `"a"`
	ask("bytes=0-4")
	etag, body = `"b"`, "ABCDEFGHIJ"
	ask("bytes=5-9")
	if got, cached := ask(""); cached || got != "ABCDEFGHIJ" {
		t.Fatalf("parts of different representations made a complete response: %q cached=%v", got, cached)
	}
}

// askRange GETs path with Range rng (none when empty) and reports whether
// the answer came without reaching the origin.
func askRange(t *testing.T, c *http.Client, o *origin, path, rng string) (string, *http.Response, bool) {
	t.Helper()
	req := mustRequest(t, http.MethodGet, o.URL+path, nil)
	if rng != "" {
		req.Header.Set("Range", rng)
	}
	before := o.count()
	body, resp := do(t, c, req)
	return body, resp, o.count() == before
}

// An origin that ignores Range answers with the whole representation: it
// is stored like any miss and then answers plain and range requests.
func TestCompleteAnswerToARangeRequestIsStored(t *testing.T) {
	o := newOrigin(t, text("0123456789"))
	c := newSession(t, nil).Client()
	if body, resp, cached := askRange(t, c, o, "/plain", "bytes=2-3"); body != "0123456789" || resp.StatusCode != http.StatusOK || cached {
		t.Fatalf("first: %q %d cached=%v", body, resp.StatusCode, cached)
	}
	if body, resp, cached := askRange(t, c, o, "/plain", "bytes=2-3"); body != "23" || resp.StatusCode != http.StatusPartialContent || !cached {
		t.Fatalf("range from the stored 200: %q %d cached=%v", body, resp.StatusCode, cached)
	}
	if body, _, cached := askRange(t, c, o, "/plain", ""); body != "0123456789" || !cached {
		t.Fatalf("plain request: %q cached=%v", body, cached)
	}
}

// TestRangeUnderOnlyIfCachedNeverReachesTheOrigin: a range the cache cannot
// answer (several ranges, or nothing stored) under only-if-cached — the
// request directive or the context's — is the 504, whether or not a
// complete entry is stored (the oracle found the directive on a multi-range
// request going to the origin).
func TestRangeUnderOnlyIfCachedNeverReachesTheOrigin(t *testing.T) {
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "x", time.Time{}, strings.NewReader("0123456789"))
	})
	s := newSession(t, func(c *config.Config) { c.CacheControl = true })
	c := s.Client()
	for _, stored := range []bool{false, true} {
		if stored {
			get(t, c, o.URL)
		}
		for _, how := range []string{"directive", "context"} {
			req := mustRequest(t, http.MethodGet, o.URL, nil)
			req.Header.Set("Range", "bytes=0-1,4-5")
			if how == "directive" {
				req.Header.Set("Cache-Control", "only-if-cached")
			} else {
				req = req.WithContext(session.OnlyIfCached(req.Context()))
			}
			before := o.count()
			_, resp := do(t, c, req)
			if o.count() != before || resp.StatusCode != http.StatusGatewayTimeout {
				t.Fatalf("stored %v, only-if-cached by %s: %d, %d requests reached the origin; want the 504 and none", stored, how, resp.StatusCode, o.count()-before)
			}
		}
	}
}

// A key function's keys never meet the keys the session derives from
// them: with keys made of the path (request data), the part kept for /doc
// lived under "/doc-206", the key of another URL, which it then answered
// (issue 39: a custom key ending in -206 collided with another key's part).
func TestCustomKeysNeverMeetDerivedKeys(t *testing.T) {
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=600")
		w.Header().Set("ETag", `"`+strings.Trim(r.URL.Path, "/")+`"`)
		http.ServeContent(w, r, "x", time.Time{}, strings.NewReader("body of "+r.URL.Path))
	})
	s := newSession(t, nil, session.WithKeyFunc(func(req *http.Request, body []byte) string {
		return req.URL.Path
	}))
	c := s.Client()
	req := mustRequest(t, http.MethodGet, o.URL+"/doc", nil)
	req.Header.Set("Range", "bytes=0-3")
	if body, resp := do(t, c, req); resp.StatusCode != http.StatusPartialContent || body != "body" {
		t.Fatalf("the range of /doc: %d %q", resp.StatusCode, body)
	}
	for _, path := range []string{"/doc-206", "/doc|lang=en", "/reqcache:credential-key"} {
		body, resp := get(t, c, o.URL+path)
		if resp.StatusCode != http.StatusOK || body != "body of "+path || session.InfoOf(resp).FromCache {
			t.Fatalf("GET %s: %d %q (from the cache: %v), want the origin's own answer", path, resp.StatusCode, body, session.InfoOf(resp).FromCache)
		}
		if body, _ := get(t, c, o.URL+path); body != "body of "+path {
			t.Fatalf("GET %s again: %q", path, body)
		}
	}
	req = mustRequest(t, http.MethodGet, o.URL+"/doc", nil)
	req.Header.Set("Range", "bytes=0-3")
	if body, resp := do(t, c, req); body != "body" || !session.InfoOf(resp).FromCache {
		t.Fatalf("the range of /doc again: %q, from the cache %v (its part was overwritten?)", body, session.InfoOf(resp).FromCache)
	}
}
