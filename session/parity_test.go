package session_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/reqcache/reqcache/config"
	"github.com/reqcache/reqcache/session"
)

// With no settings at all (config.Default, what Install uses without a
// file), a global patch of every library must not keep what an origin
// marks no-store — a payment SDK's balance, say — and must revalidate what
// it marks no-cache.
func TestDefaultsHonourCacheControl(t *testing.T) {
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/balance":
			w.Header().Set("Cache-Control", "no-cache, no-store")
		case "/profile":
			w.Header().Set("Cache-Control", "no-cache")
			w.Header().Set("ETag", `"p1"`)
			if r.Header.Get("If-None-Match") == `"p1"` {
				w.WriteHeader(http.StatusNotModified)
				return
			}
		}
		io.WriteString(w, "body of "+r.URL.Path)
	})
	s := newSession(t, nil)
	c := s.Client()
	for range 2 {
		if body, resp := get(t, c, o.URL+"/balance"); body != "body of /balance" || session.InfoOf(resp).FromCache {
			t.Fatalf("no-store under the defaults: %q %+v", body, session.InfoOf(resp))
		}
	}
	wantCount(t, o, 2)
	if n, _ := s.Cache().Len(context.Background()); n != 0 {
		t.Fatalf("a no-store response was stored under the defaults: %d entries", n)
	}

	get(t, c, o.URL+"/profile")
	body, resp := get(t, c, o.URL+"/profile")
	if info := session.InfoOf(resp); body != "body of /profile" || !info.Revalidated || o.lastRequest().Header.Get("If-None-Match") != `"p1"` {
		t.Fatalf("no-cache under the defaults: %q %+v, the origin saw %v", body, info, o.lastRequest().Header)
	}
	wantCount(t, o, 4)
}

// A lifetime the user wrote beats one the cache guessed: an expire_after
// duration applies to a response whose only hint is an old Last-Modified;
// "never" (the default) and "immediately" say what becomes of a response
// with no lifetime at all, so there the heuristic fills in first.
func TestWrittenLifetimeBeatsTheHeuristic(t *testing.T) {
	lastModified := time.Now().Add(-10 * 24 * time.Hour).UTC().Format(http.TimeFormat)
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Last-Modified", lastModified)
		io.WriteString(w, "object")
	})
	for _, tc := range []struct {
		name        string
		expireAfter config.Expiration
		want        time.Duration
		heuristic   bool
	}{
		{"expire_after written", config.After(5 * time.Minute), 5 * time.Minute, false},
		{"expire_after's default", config.NeverExpire, 24 * time.Hour, true},
		{"expire_after immediately", config.ExpireImmediately, 24 * time.Hour, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSession(t, func(c *config.Config) { c.ExpireAfter = tc.expireAfter })
			_, resp := get(t, s.Client(), o.URL+"/"+strings.ReplaceAll(tc.name, " ", "-"))
			info := session.InfoOf(resp)
			if life := info.Expires.Sub(info.CreatedAt); life < tc.want-2*time.Second || life > tc.want+2*time.Second || info.Heuristic != tc.heuristic {
				t.Fatalf("lifetime %v (heuristic %v), want %v (heuristic %v); Cache-Status %q",
					life, info.Heuristic, tc.want, tc.heuristic, resp.Header.Get("Cache-Status"))
			}
		})
	}
}

// A request's own Cache-Control: stale-if-error=N (RFC 5861 §4) lets an
// expired entry answer when the origin fails, within N seconds of
// staleness, with no setting and nothing in the response.
func TestRequestStaleIfError(t *testing.T) {
	clk := newClock()
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=10")
		io.WriteString(w, "v1")
	})
	s := newSession(t, nil, session.WithClock(clk.Now))
	c := s.Client()
	get(t, c, o.URL)
	o.serve(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "down", http.StatusInternalServerError) })
	clk.Advance(30 * time.Second) // 20 s stale

	withDirective := func(cc string) *http.Request {
		req := mustRequest(t, http.MethodGet, o.URL, nil)
		req.Header.Set("Cache-Control", cc)
		return req
	}
	if _, resp := get(t, c, o.URL); resp.StatusCode != http.StatusInternalServerError {
		t.Fatalf("without the directive: status %d, want the origin's 500", resp.StatusCode)
	}
	if body, resp := do(t, c, withDirective("stale-if-error=60")); body != "v1" || !session.InfoOf(resp).Expired {
		t.Fatalf("stale-if-error=60 at 20 s stale: %d %q %+v", resp.StatusCode, body, session.InfoOf(resp))
	}
	if _, resp := do(t, c, withDirective("stale-if-error=5")); resp.StatusCode != http.StatusInternalServerError {
		t.Fatalf("stale-if-error=5 at 20 s stale: status %d, want the origin's 500", resp.StatusCode)
	}
	wantCount(t, o, 4)
}

// Two uploads of the same form through mime/multipart differ only by the
// boundary it draws at random: with POST cacheable, the second is a hit.
func TestIdenticalMultipartPostsHit(t *testing.T) {
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		file, header, err := r.FormFile("file")
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		contents, _ := io.ReadAll(file)
		fmt.Fprintf(w, "%s: %s (%s)", r.FormValue("title"), contents, header.Filename)
	})
	s := newSession(t, func(c *config.Config) { c.AllowableMethods = []string{"GET", "HEAD", "POST"} })
	upload := func(contents string) (string, *http.Response) {
		t.Helper()
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		mw.WriteField("title", "report")
		fw, _ := mw.CreateFormFile("file", "a.csv")
		io.WriteString(fw, contents)
		mw.Close()
		req := mustRequest(t, http.MethodPost, o.URL+"/upload", &body)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		return do(t, s.Client(), req)
	}
	first, _ := upload("x,y\n1,2")
	second, resp := upload("x,y\n1,2")
	if first != "report: x,y\n1,2 (a.csv)" || second != first || !session.InfoOf(resp).FromCache {
		t.Fatalf("the same upload twice: %q then %q %+v", first, second, session.InfoOf(resp))
	}
	wantCount(t, o, 1)
	if other, resp := upload("x,y\n1,3"); other != "report: x,y\n1,3 (a.csv)" || session.InfoOf(resp).FromCache {
		t.Fatalf("another file's upload: %q %+v", other, session.InfoOf(resp))
	}
	wantCount(t, o, 2)
}

// A key function builds on DefaultKey (requests-cache's create_key): it
// follows the calling session's match_headers and ignored_parameters, so
// that the extended key differs from the session's own only by what the
// function adds.
func TestKeyFuncExtendsDefaultKey(t *testing.T) {
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s for %s", r.URL.Path, r.Header.Get("X-Tenant"))
	})
	edit := func(c *config.Config) {
		c.MatchHeaders = config.MatchHeaders{Names: []string{"Accept"}}
		c.SeparateCredentials = false // the key is then DefaultKey's alone
	}
	plain := newSession(t, edit)
	var defaults []string
	extended := newSession(t, edit, session.WithKeyFunc(func(req *http.Request, body []byte) string {
		key := session.DefaultKey(req, body)
		defaults = append(defaults, key)
		return key + "|" + req.Header.Get("X-Tenant")
	}))
	request := func(tenant, accept string) *http.Request {
		req := mustRequest(t, http.MethodGet, o.URL+"/report?api_key=k1", nil)
		req.Header.Set("X-Tenant", tenant)
		req.Header.Set("Accept", accept)
		return req
	}
	_, resp := do(t, plain.Client(), request("a", "text/csv"))
	own := session.InfoOf(resp).Key
	do(t, extended.Client(), request("a", "text/csv"))
	if len(defaults) != 1 || defaults[0] != own {
		t.Fatalf("DefaultKey inside the key function: %q, the session's own key %q", defaults, own)
	}
	if session.DefaultKey(request("a", "text/csv"), nil) == own {
		t.Fatal("outside a session DefaultKey follows the session's match_headers")
	}
	for _, tc := range []struct {
		tenant, accept, want string
		hit                  bool
	}{
		{"a", "text/csv", "/report for a", true},
		{"b", "text/csv", "/report for b", false},
		{"a", "application/json", "/report for a", false},
	} {
		body, resp := do(t, extended.Client(), request(tc.tenant, tc.accept))
		if body != tc.want || session.InfoOf(resp).FromCache != tc.hit {
			t.Fatalf("tenant %s, Accept %s: %q, hit %v", tc.tenant, tc.accept, body, session.InfoOf(resp).FromCache)
		}
	}
}

// Cache.URLs takes the filters Responses takes (requests-cache's
// urls(**filter)): freshness, age and host; several must all hold.
func TestURLsFiltered(t *testing.T) {
	clk := newClock()
	a, b := newOrigin(t, text("a")), newOrigin(t, text("b"))
	s := newSession(t, func(c *config.Config) { c.ExpireAfter = config.After(90 * time.Minute) }, session.WithClock(clk.Now))
	get(t, s.Client(), a.URL+"/old")
	clk.Advance(2 * time.Hour)
	get(t, s.Client(), a.URL+"/new")
	get(t, s.Client(), b.URL+"/new")
	bHost := strings.TrimPrefix(b.URL, "http://")
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		filters []session.Filter
		want    []string
	}{
		{"none", nil, []string{a.URL + "/new", a.URL + "/old", b.URL + "/new"}},
		{"expired", []session.Filter{{Expired: true}}, []string{a.URL + "/old"}},
		{"fresh", []session.Filter{{Fresh: true}}, []string{a.URL + "/new", b.URL + "/new"}},
		{"older than an hour", []session.Filter{{OlderThan: time.Hour}}, []string{a.URL + "/old"}},
		{"host", []session.Filter{{Host: bHost}}, []string{b.URL + "/new"}},
		{"all must hold", []session.Filter{{Fresh: true}, {Host: bHost}}, []string{b.URL + "/new"}},
	} {
		got, err := s.Cache().URLs(ctx, tc.filters...)
		slices.Sort(tc.want)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("URLs(%s) = %v, %v; want %v", tc.name, got, err, tc.want)
		}
	}
}

// urls_expire_after takes a regular expression beside globs
// (requests-cache's re.compile patterns), searched in the whole URL.
func TestURLsExpireAfterRegex(t *testing.T) {
	o := newOrigin(t, text("data"))
	s := newSession(t, func(c *config.Config) {
		c.URLsExpireAfter = []config.URLExpiration{
			{Regex: `^http://127\.0\.0\.1:[0-9]+/v[0-9]+/live`, ExpireAfter: config.DoNotCache},
			{Regex: `\?page=[0-9]+$`, ExpireAfter: config.After(time.Minute)},
		}
	})
	for range 2 {
		get(t, s.Client(), o.URL+"/v2/live/feed")
		get(t, s.Client(), o.URL+"/v2/archive")
	}
	wantCount(t, o, 3) // the live feed twice, the archive once
	_, resp := get(t, s.Client(), o.URL+"/list?page=3")
	if info := session.InfoOf(resp); info.Expires.Sub(info.CreatedAt) != time.Minute {
		t.Fatalf("a regex's expire_after: %+v", info)
	}
}

// Cookies are compared as a set, as requests-cache compares them (issue
// 42, item 6): the same cookies in another order are the same principal;
// another value is another.
func TestCookiesInAnotherOrderAreTheSameCaller(t *testing.T) {
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		io.WriteString(w, "for "+r.Header.Get("Cookie"))
	})
	s := newSession(t, nil)
	cookieGet := func(cookie string) *http.Response {
		req := mustRequest(t, http.MethodGet, o.URL+"/me", nil)
		req.Header.Set("Cookie", cookie)
		_, resp := do(t, s.Client(), req)
		return resp
	}
	cookieGet("sid=1; theme=dark")
	if resp := cookieGet("theme=dark;sid=1"); !session.InfoOf(resp).FromCache {
		t.Fatalf("the same cookies in another order: not a hit (%s)", resp.Header.Get("Cache-Status"))
	}
	if resp := cookieGet("theme=dark; sid=2"); session.InfoOf(resp).FromCache || o.count() != 2 {
		t.Fatalf("another session cookie was answered from the cache")
	}
}

// match_headers values are normalized as requests-cache normalizes them
// (issue 42, item 5: its test_cache_keys' "gzip,  deflate,Venmo,  PayPal, "):
// a weighted list is a set whatever its spacing, order and case; other
// values keep their case and order (a tenant "Acme" is not "acme").
func TestMatchHeadersValuesAreNormalized(t *testing.T) {
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		io.WriteString(w, "doc")
	})
	s := newSession(t, func(c *config.Config) {
		c.MatchHeaders = config.MatchHeaders{Names: []string{"Accept-Encoding", "X-Tenant"}}
	})
	send := func(enc, tenant string) *http.Response {
		req := mustRequest(t, http.MethodGet, o.URL+"/doc", nil)
		req.Header.Set("Accept-Encoding", enc)
		req.Header.Set("X-Tenant", tenant)
		_, resp := do(t, s.Client(), req)
		return resp
	}
	send("gzip,  deflate,Venmo,  PayPal, ", "Acme")
	if resp := send("deflate, gzip, paypal, venmo", "Acme"); !session.InfoOf(resp).FromCache {
		t.Fatalf("the same encodings, spaced and ordered otherwise: not a hit (%s)", resp.Header.Get("Cache-Status"))
	}
	for _, other := range [][2]string{{"gzip", "Acme"}, {"deflate, gzip, paypal, venmo", "acme"}} {
		if resp := send(other[0], other[1]); session.InfoOf(resp).FromCache {
			t.Errorf("%q for %q answered from another's entry", other[0], other[1])
		}
	}
}

// only_if_cached answers what stale_while_revalidate allows and refreshes
// it in the background, as requests-cache does (issue 42, item 3); the
// request's own stale-while-revalidate=N is honoured too (item 4).
func TestStaleWhileRevalidateAsRequestsCache(t *testing.T) {
	var version atomic.Int64
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=10")
		fmt.Fprintf(w, "v%d", version.Load())
	})
	t.Run("only_if_cached", func(t *testing.T) {
		clk := newClock()
		s := newSession(t, func(c *config.Config) { c.StaleWhileRevalidate = config.StaleLimit{Enabled: true} }, session.WithClock(clk.Now))
		get(t, s.Client(), o.URL+"/oic")
		version.Store(1)
		clk.Advance(20 * time.Second)
		before := o.count()
		req := mustRequest(t, http.MethodGet, o.URL+"/oic", nil)
		body, resp := do(t, s.Client(), req.WithContext(session.OnlyIfCached(req.Context())))
		if resp.StatusCode != http.StatusOK || body != "v0" || !strings.Contains(resp.Header.Get("Cache-Status"), "stale-while-revalidate") {
			t.Fatalf("only_if_cached on a stale entry under stale_while_revalidate: %d %q %s", resp.StatusCode, body, resp.Header.Get("Cache-Status"))
		}
		eventually(t, func() bool { return o.count() == before+1 })
		eventually(t, func() bool {
			body, _ := get(t, s.Client(), o.URL+"/oic")
			return body == "v1"
		})
	})
	t.Run("the request's directive", func(t *testing.T) {
		version.Store(0)
		clk := newClock()
		s := newSession(t, nil, session.WithClock(clk.Now))
		get(t, s.Client(), o.URL+"/swr")
		clk.Advance(20 * time.Second)
		req := mustRequest(t, http.MethodGet, o.URL+"/swr", nil)
		req.Header.Set("Cache-Control", "stale-while-revalidate=30")
		if _, resp := do(t, s.Client(), req); !session.InfoOf(resp).FromCache || !session.InfoOf(resp).Expired {
			t.Fatalf("stale by 10 s, the request allowing 30: %s", resp.Header.Get("Cache-Status"))
		}
		req = mustRequest(t, http.MethodGet, o.URL+"/swr", nil)
		req.Header.Set("Cache-Control", "stale-while-revalidate=5")
		clk.Advance(time.Second) // (the refresh above may have stored a new one: make it stale too)
		clk.Advance(20 * time.Second)
		if _, resp := do(t, s.Client(), req); session.InfoOf(resp).FromCache && session.InfoOf(resp).Expired {
			t.Fatalf("stale past what the request allows, answered stale: %s", resp.Header.Get("Cache-Status"))
		}
	})
}

// eventually waits for cond (background work), at most 5 s.
func eventually(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached within 5 s")
		}
		time.Sleep(time.Millisecond)
	}
}

// A 304 to a request the cache did not make conditional answers from the
// stored entry when it speaks for it, as requests-cache does (issue 42,
// item 2); one naming another validator, or answering the caller's own
// conditional request, goes through as it is.
func TestUnconditional304AnswersFromTheStoredEntry(t *testing.T) {
	var etag atomic.Value
	etag.Store("")
	var first atomic.Bool
	first.Store(true)
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		if first.Swap(false) {
			w.Header().Set("Cache-Control", "max-age=60")
			io.WriteString(w, "doc")
			return
		}
		if v := etag.Load().(string); v != "" {
			w.Header().Set("ETag", v)
		}
		w.WriteHeader(http.StatusNotModified)
	})
	s := newSession(t, nil)
	get(t, s.Client(), o.URL+"/doc")
	refresh := func(h http.Header) (string, *http.Response) {
		req := mustRequest(t, http.MethodGet, o.URL+"/doc", nil)
		for k, v := range h {
			req.Header[k] = v
		}
		return do(t, s.Client(), req.WithContext(session.Refresh(req.Context())))
	}
	if body, resp := refresh(nil); resp.StatusCode != http.StatusOK || body != "doc" || !session.InfoOf(resp).Revalidated {
		t.Fatalf("a 304 without a validator to a Refresh: %d %q %+v", resp.StatusCode, body, session.InfoOf(resp))
	}
	etag.Store(`"other"`)
	if _, resp := refresh(nil); resp.StatusCode != http.StatusNotModified {
		t.Fatalf("a 304 naming another validator: %d, want it passed through", resp.StatusCode)
	}
	etag.Store("")
	if _, resp := refresh(http.Header{"If-Modified-Since": {"Mon, 01 Jan 2024 00:00:00 GMT"}}); resp.StatusCode != http.StatusNotModified {
		t.Fatalf("the caller's own conditional request: %d, want its 304", resp.StatusCode)
	}
}

// Responses stale on arrival without a validator are stored, as
// requests-cache stores them (issue 42, item 1): stale_if_error falls back
// to them, ResetExpiration extends them; stale, they answer nothing that
// does not allow stale use. Not stored without a validator: expire_after
// "immediately" (as requests-cache) and no-cache (never usable here).
func TestStaleOnArrivalIsStored(t *testing.T) {
	var fail atomic.Bool
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		if fail.Load() {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		switch r.URL.Path {
		case "/no-cache":
			w.Header().Set("Cache-Control", "no-cache")
		case "/expired":
			w.Header().Set("Expires", "Mon, 01 Jan 2024 00:00:00 GMT")
		}
		io.WriteString(w, "doc "+r.URL.Path)
	})
	t.Run("stored, never answered fresh", func(t *testing.T) {
		fail.Store(false)
		s := newSession(t, nil)
		for _, path := range []string{"/expired"} {
			_, resp := get(t, s.Client(), o.URL+path)
			if !session.InfoOf(resp).Stored {
				t.Errorf("%s: not stored (%s)", path, resp.Header.Get("Cache-Status"))
			}
			before := o.count()
			if _, resp := get(t, s.Client(), o.URL+path); session.InfoOf(resp).FromCache || o.count() != before+1 {
				t.Errorf("%s: a plain GET answered from the stale entry", path)
			}
		}
	})
	t.Run("stale_if_error falls back to one", func(t *testing.T) {
		fail.Store(false)
		s := newSession(t, func(c *config.Config) { c.StaleIfError = config.StaleLimit{Enabled: true} })
		get(t, s.Client(), o.URL+"/expired")
		fail.Store(true)
		if body, resp := get(t, s.Client(), o.URL+"/expired"); resp.StatusCode != http.StatusOK || body != "doc /expired" || !session.InfoOf(resp).Expired {
			t.Fatalf("the origin failing: %d %q %s", resp.StatusCode, body, resp.Header.Get("Cache-Status"))
		}
		fail.Store(false)
	})
	t.Run("max-stale takes one", func(t *testing.T) {
		fail.Store(false)
		s := newSession(t, nil)
		get(t, s.Client(), o.URL+"/expired")
		req := mustRequest(t, http.MethodGet, o.URL+"/expired", nil)
		req.Header.Set("Cache-Control", "max-stale")
		if _, resp := do(t, s.Client(), req); !session.InfoOf(resp).FromCache {
			t.Fatalf("max-stale: %s", resp.Header.Get("Cache-Status"))
		}
	})
	t.Run("ResetExpiration extends one", func(t *testing.T) {
		fail.Store(false)
		s := newSession(t, nil)
		get(t, s.Client(), o.URL+"/expired")
		if n, err := s.Cache().ResetExpiration(t.Context(), config.After(time.Hour)); err != nil || n != 1 {
			t.Fatalf("ResetExpiration = %d, %v", n, err)
		}
		if _, resp := get(t, s.Client(), o.URL+"/expired"); !session.InfoOf(resp).FromCache {
			t.Fatalf("after ResetExpiration: %s", resp.Header.Get("Cache-Status"))
		}
	})
	t.Run("no-cache without a validator is not stored: nothing could use it", func(t *testing.T) {
		fail.Store(false)
		s := newSession(t, nil)
		if _, resp := get(t, s.Client(), o.URL+"/no-cache"); session.InfoOf(resp).Stored || !strings.Contains(resp.Header.Get("Cache-Status"), "no-validator") {
			t.Fatalf("no-cache, no validator: %s", resp.Header.Get("Cache-Status"))
		}
	})
	t.Run("immediately without a validator is not stored", func(t *testing.T) {
		fail.Store(false)
		s := newSession(t, func(c *config.Config) { c.CacheControl = false; c.ExpireAfter = config.ExpireImmediately })
		if _, resp := get(t, s.Client(), o.URL+"/plain"); session.InfoOf(resp).Stored || !strings.Contains(resp.Header.Get("Cache-Status"), "no-validator") {
			t.Fatalf("immediately, no validator: %s", resp.Header.Get("Cache-Status"))
		}
	})
}

// Azure Storage's SDK asks for a range with x-ms-range, not Range (issue
// 38, finding 1): the whole stored blob answered it (200, the wrong bytes).
// It is a range request: a 206 of the range from a stored whole, or the
// origin's answer.
func TestXMsRangeIsARangeRequest(t *testing.T) {
	const blob = `{"v":1}`
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("ETag", `"b1"`)
		if rng := r.Header.Get("X-Ms-Range"); rng != "" {
			w.Header().Set("Content-Range", "bytes 2-4/7")
			w.WriteHeader(http.StatusPartialContent)
			io.WriteString(w, blob[2:5])
			return
		}
		io.WriteString(w, blob)
	})
	s := newSession(t, nil)
	ranged := func() (string, *http.Response) {
		req := mustRequest(t, http.MethodGet, o.URL+"/container/blob", nil)
		req.Header.Set("X-Ms-Range", "bytes=2-4")
		return do(t, s.Client(), req)
	}
	// Nothing stored: the origin's 206.
	if body, resp := ranged(); resp.StatusCode != http.StatusPartialContent || body != `v":` {
		t.Fatalf("x-ms-range, nothing stored: %d %q", resp.StatusCode, body)
	}
	get(t, s.Client(), o.URL+"/container/blob") // the whole blob stored
	before := o.count()
	if body, resp := ranged(); resp.StatusCode != http.StatusPartialContent || body != `v":` || resp.Header.Get("Content-Range") != "bytes 2-4/7" {
		t.Fatalf("x-ms-range, the whole blob stored: %d %q %q (%s)", resp.StatusCode, body, resp.Header.Get("Content-Range"), resp.Header.Get("Cache-Status"))
	}
	if o.count() != before {
		t.Errorf("the stored blob did not answer the range (%d origin requests)", o.count()-before)
	}
	// azcore writes its headers straight into the map, in lower case
	// ("x-ms-range"): the same request on the wire, and the same answer.
	req := mustRequest(t, http.MethodGet, o.URL+"/container/blob", nil)
	req.Header["x-ms-range"] = []string{"bytes=2-4"}
	if body, resp := do(t, s.Client(), req); resp.StatusCode != http.StatusPartialContent || body != `v":` {
		t.Fatalf("x-ms-range written in lower case: %d %q (%s)", resp.StatusCode, body, resp.Header.Get("Cache-Status"))
	}
	//lint:ignore SA1008 the lower-case name the caller wrote, on purpose (as azcore writes it)
	if len(req.Header) != 1 || req.Header["x-ms-range"][0] != "bytes=2-4" {
		t.Fatalf("the caller's request was changed: %v", req.Header)
	}
}

// Azure Storage's SharedKey signs every request anew (its x-ms-date moves
// each second): keyed by the account, as SigV4 by its access key (issue
// 38, finding 3: four reads 1.1 s apart made four origin requests and five
// entries). x-ms-date and x-ms-client-request-id never join a key.
func TestAzureSharedKeyIsKeyedByTheAccount(t *testing.T) {
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		io.WriteString(w, "blob for "+strings.SplitN(strings.TrimPrefix(r.Header.Get("Authorization"), "SharedKey "), ":", 2)[0])
	})
	s := newSession(t, func(c *config.Config) { c.MatchHeaders = config.MatchHeaders{All: true} })
	read := func(account, sig, date string) (string, *http.Response) {
		req := mustRequest(t, http.MethodGet, o.URL+"/container/blob", nil)
		req.Header.Set("Authorization", "SharedKey "+account+":"+sig)
		req.Header.Set("X-Ms-Date", date)
		req.Header.Set("X-Ms-Client-Request-Id", sig)
		req.Header.Set("X-Ms-Version", "2025-01-05")
		return do(t, s.Client(), req)
	}
	read("acct", "c2lnMQ==", "Mon, 07 Dec 2026 10:00:00 GMT")
	if body, resp := read("acct", "c2lnMg==", "Mon, 07 Dec 2026 10:00:01 GMT"); !session.InfoOf(resp).FromCache || body != "blob for acct" {
		t.Fatalf("the same account, signed a second later: %q %s", body, resp.Header.Get("Cache-Status"))
	}
	if body, resp := read("other", "c2lnMw==", "Mon, 07 Dec 2026 10:00:02 GMT"); session.InfoOf(resp).FromCache || body != "blob for other" {
		t.Fatalf("another account answered from the cache: %q", body)
	}
	if n, _ := s.Cache().Len(t.Context()); n != 2 {
		t.Fatalf("%d entries, want one per account", n)
	}
}

// An object read right after it was written has a Last-Modified equal to
// its Date: its heuristic lifetime is zero, so the next read revalidates
// (issue 38, finding 6: it was stored never to expire, expire_after's
// default).
func TestZeroHeuristicIsALifetime(t *testing.T) {
	clk := newClock()
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		now := clk.Now().UTC().Format(http.TimeFormat)
		w.Header().Set("Date", now)
		w.Header().Set("Last-Modified", now)
		if r.Header.Get("If-Modified-Since") != "" {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		io.WriteString(w, "object")
	})
	s := newSession(t, nil, session.WithClock(clk.Now))
	_, resp := get(t, s.Client(), o.URL+"/bucket/object")
	if info := session.InfoOf(resp); !info.Stored || info.Expires.IsZero() {
		t.Fatalf("stored %v, expires %v: want stored, stale at once", info.Stored, info.Expires)
	}
	clk.Advance(time.Hour)
	before := o.count()
	if _, resp := get(t, s.Client(), o.URL+"/bucket/object"); !session.InfoOf(resp).Revalidated || o.count() != before+1 {
		t.Fatalf("an hour later: %s, %d origin requests; want a revalidation", resp.Header.Get("Cache-Status"), o.count()-before)
	}
}
