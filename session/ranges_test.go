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
