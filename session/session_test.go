package session_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/reqcache/reqcache/config"
	"github.com/reqcache/reqcache/session"
)

// Hit counters are striped across cache lines for parallel hits; every
// hit and byte must still be counted once, including ranges and stale
// answers, which count bytes but not hits.
func TestStatsCountEveryHitFromManyGoroutines(t *testing.T) {
	o := newOrigin(t, text("hello"))
	s := newSession(t, func(c *config.Config) { c.ExpireAfter = config.After(time.Minute) })
	c := s.Client()
	get(t, c, o.URL+"/a")
	const goroutines, each = 8, 250
	var wg sync.WaitGroup
	for range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				resp, err := c.Get(o.URL + "/a")
				if err != nil {
					t.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}()
	}
	wg.Wait()
	req, _ := http.NewRequest(http.MethodGet, o.URL+"/a", nil)
	req.Header.Set("Range", "bytes=1-2")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusPartialContent {
		t.Fatalf("range: status %d", resp.StatusCode)
	}
	wantCount(t, o, 1)
	hits := int64(goroutines*each + 1)
	if st := s.Stats(); st.Hits != hits || st.Misses != 1 || st.BytesServed != (hits-1)*5+2 {
		t.Fatalf("stats %+v, want %d hits, 1 miss, %d bytes", st, hits, (hits-1)*5+2)
	}
}

func TestInfoOnMissAndHit(t *testing.T) {
	o := newOrigin(t, text("hello"))
	clk := newClock()
	s := newSession(t, func(c *config.Config) { c.ExpireAfter = config.After(time.Minute) }, session.WithClock(clk.Now))
	c := s.Client()

	body, resp := get(t, c, o.URL+"/a")
	info := session.InfoOf(resp)
	if body != "hello" || info.FromCache || !info.Stored || info.Key == "" {
		t.Fatalf("miss: body %q info %+v", body, info)
	}
	if cs := resp.Header.Get("Cache-Status"); cs != "reqcache; fwd=uri-miss; stored" {
		t.Fatalf("miss Cache-Status = %q", cs)
	}
	clk.Advance(18 * time.Second)
	body, resp = get(t, c, o.URL+"/a")
	hit := session.InfoOf(resp)
	if body != "hello" || !hit.FromCache || hit.Key != info.Key || hit.Expired || hit.Revalidated {
		t.Fatalf("hit: body %q info %+v", body, hit)
	}
	if !hit.CreatedAt.Equal(clk.Now().Add(-18*time.Second)) || !hit.Expires.Equal(hit.CreatedAt.Add(time.Minute)) {
		t.Fatalf("hit times: created %v expires %v", hit.CreatedAt, hit.Expires)
	}
	if cs := resp.Header.Get("Cache-Status"); cs != "reqcache; hit; ttl=42" {
		t.Fatalf("hit Cache-Status = %q", cs)
	}
	wantCount(t, o, 1)
	if st := s.Stats(); st.Hits != 1 || st.Misses != 1 || st.BytesServed != 5 {
		t.Fatalf("stats %+v", st)
	}
	if got := session.InfoOf(&http.Response{}); got != (session.Info{}) {
		t.Fatalf("InfoOf foreign response = %+v", got)
	}
}

func TestURLNormalizationSharesEntries(t *testing.T) {
	o := newOrigin(t, text("x"))
	s := newSession(t, nil)
	c := s.Client()
	u, _ := url.Parse(o.URL)
	host, port := u.Hostname(), u.Port()
	variants := []string{
		"http://" + host + ":" + port + "/p?a=1&b=2",
		"http://" + host + ":" + port + "/p?b=2&a=1",
		"HTTP://" + strings.ToUpper(host) + ":" + port + "/p?b=2&a=1",
		"http://" + host + ":" + port + "/p?a=1&b=2#frag",
	}
	for _, v := range variants {
		get(t, c, v)
	}
	wantCount(t, o, 1)
	get(t, c, o.URL+"/p?a=1&b=3")
	wantCount(t, o, 2)
	get(t, c, o.URL+"/q?")
	get(t, c, o.URL+"/q")
	wantCount(t, o, 3)
}

func TestNormalizeURLVectors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"HTTP://Example.COM:80/a?b=2&a=1", "http://example.com/a?a=1&b=2"},
		{"https://example.com:443/", "https://example.com/"},
		{"https://example.com:8443", "https://example.com:8443/"},
		{"https://user:pw@example.com/x?", "https://example.com/x"},
		{"https://example.com/x?api_key=s3cret&q=1", "https://example.com/x?api_key=REDACTED&q=1"},
		{"http://[::1]:80/v6", "http://[::1]/v6"},
	} {
		got, err := session.NormalizeURL(tc.in, config.DefaultIgnoredParameters())
		if err != nil || got != tc.want {
			t.Errorf("NormalizeURL(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestIgnoredParametersSharedAndRedacted(t *testing.T) {
	o := newOrigin(t, text("data"))
	s := newSession(t, func(c *config.Config) { c.SeparateCredentials = false })
	c := s.Client()
	get(t, c, o.URL+"/d?q=1&api_key=first")
	get(t, c, o.URL+"/d?api_key=second&q=1")
	wantCount(t, o, 1)
	if got := o.lastRequest().URL.Query().Get("api_key"); got != "first" {
		t.Fatalf("origin got api_key %q: the real value must reach the origin", got)
	}
	urls, err := s.Cache().URLs(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(urls) != 1 || !strings.HasSuffix(urls[0], "/d?api_key=REDACTED&q=1") {
		t.Fatalf("stored URLs = %v", urls)
	}
	// Headers and JSON / form bodies are redacted in what is stored too.
	req := mustRequest(t, http.MethodGet, o.URL+"/h", nil)
	req.Header.Set("Authorization", "Bearer top-secret")
	req.Header.Set("X-API-Key", "key-secret")
	do(t, c, req)
	for r, err := range s.Cache().Responses(context.Background(), session.Filter{}) {
		if err != nil {
			t.Fatal(err)
		}
		for name, vs := range r.RequestHeader {
			for _, v := range vs {
				if strings.Contains(v, "secret") {
					t.Fatalf("stored request header %s = %q", name, v)
				}
			}
		}
		if strings.Contains(r.URL, "first") || strings.Contains(r.URL, "second") {
			t.Fatalf("stored URL %q holds a credential", r.URL)
		}
	}
}

func TestMatchHeadersList(t *testing.T) {
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "lang="+r.Header.Get("Accept-Language"))
	})
	s := newSession(t, func(c *config.Config) { c.MatchHeaders = config.MatchHeaders{Names: []string{"Accept-Language"}} })
	c := s.Client()
	for i, lang := range []string{"fr", "de", "fr", "de", ""} {
		req := mustRequest(t, http.MethodGet, o.URL+"/m", nil)
		if lang != "" {
			req.Header.Set("Accept-Language", lang)
		}
		req.Header.Set("User-Agent", fmt.Sprintf("agent-%d", i)) // not matched: does not split entries
		body, _ := do(t, c, req)
		if body != "lang="+lang {
			t.Fatalf("request %d (%q): body %q", i, lang, body)
		}
	}
	wantCount(t, o, 3)
}

func TestExpireAfterValues(t *testing.T) {
	for _, tc := range []struct {
		name     string
		exp      config.Expiration
		etag     bool
		advance  time.Duration
		wantHits int64 // origin requests after three GETs, clock advanced before the third
	}{
		{"never", config.NeverExpire, false, 1000 * time.Hour, 1},
		{"duration fresh", config.After(time.Hour), false, 59 * time.Minute, 1},
		{"duration expired", config.After(time.Hour), false, 61 * time.Minute, 2},
		{"integer seconds", mustExpiration(t, "3600"), false, 2 * time.Hour, 2},
		{"do_not_cache", config.DoNotCache, false, 0, 3},
		{"immediately without validator", config.ExpireImmediately, false, 0, 3},
		{"immediately with validator", config.ExpireImmediately, true, 0, 3},
		{"at a time", config.At(newClock().Now().Add(time.Hour)), false, 2 * time.Hour, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
				if tc.etag {
					w.Header().Set("ETag", `"v1"`)
					if r.Header.Get("If-None-Match") == `"v1"` {
						w.WriteHeader(http.StatusNotModified)
						return
					}
				}
				io.WriteString(w, "body")
			})
			clk := newClock()
			s := newSession(t, func(c *config.Config) { c.ExpireAfter = tc.exp }, session.WithClock(clk.Now))
			c := s.Client()
			get(t, c, o.URL)
			get(t, c, o.URL)
			clk.Advance(tc.advance)
			body, resp := get(t, c, o.URL)
			if body != "body" {
				t.Fatalf("body %q", body)
			}
			wantCount(t, o, tc.wantHits)
			if tc.etag && !session.InfoOf(resp).Revalidated {
				t.Fatalf("immediately with validator: want a revalidated answer, got %+v", session.InfoOf(resp))
			}
		})
	}
}

func mustExpiration(t *testing.T, s string) config.Expiration {
	t.Helper()
	e, err := config.ParseExpiration(s)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestURLPatternsAllowList(t *testing.T) {
	o := newOrigin(t, text("x"))
	u, _ := url.Parse(o.URL)
	clk := newClock()
	s := newSession(t, func(c *config.Config) {
		c.URLsExpireAfter = []config.URLExpiration{
			{Pattern: "http://" + u.Host + "/static", ExpireAfter: config.NeverExpire},
			{Pattern: u.Host + "/api/*/short", ExpireAfter: config.After(time.Minute)},
			{Pattern: "*", ExpireAfter: config.DoNotCache},
		}
	}, session.WithClock(clk.Now))
	c := s.Client()
	for i := 0; i < 2; i++ {
		get(t, c, o.URL+"/static/app.js")
		get(t, c, o.URL+"/api/v1/short/x")
		get(t, c, o.URL+"/other")
	}
	wantCount(t, o, 4) // static once, short once, other twice
	clk.Advance(2 * time.Minute)
	get(t, c, o.URL+"/static/app.js")
	get(t, c, o.URL+"/api/v1/short/x")
	wantCount(t, o, 5)
	if _, resp := get(t, c, o.URL+"/other"); !strings.Contains(resp.Header.Get("Cache-Status"), "fwd=bypass") {
		t.Fatalf("do_not_cache Cache-Status = %q", resp.Header.Get("Cache-Status"))
	}
}

func TestAllowableCodesAndMethods(t *testing.T) {
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/404":
			http.NotFound(w, r)
		case "/500":
			http.Error(w, "boom", 500)
		default:
			io.WriteString(w, "ok")
		}
	})
	s := newSession(t, func(c *config.Config) {
		c.AllowableCodes = []int{200, 404}
		c.AllowableMethods = []string{"GET", "POST"}
	})
	c := s.Client()
	for i := 0; i < 2; i++ {
		get(t, c, o.URL+"/404")
		get(t, c, o.URL+"/500")
	}
	wantCount(t, o, 3)
	post := func(body string) {
		req := mustRequest(t, http.MethodPost, o.URL+"/p", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		do(t, c, req)
	}
	post(`{"a":1,"b":2}`)
	post(`{"b":2, "a":1}`) // same JSON, keys reordered: same key
	wantCount(t, o, 4)
	post(`{"a":2}`)
	wantCount(t, o, 5)
	for i := 0; i < 2; i++ {
		do(t, c, mustRequest(t, http.MethodPut, o.URL+"/p", strings.NewReader("x")))
	}
	wantCount(t, o, 7)
	// A GET tunnelled as a PUT is a PUT: never cached.
	for i := 0; i < 2; i++ {
		req := mustRequest(t, http.MethodGet, o.URL+"/tunnel", nil)
		req.Header.Set("X-HTTP-Method-Override", "PUT")
		do(t, c, req)
	}
	wantCount(t, o, 9)
}

func TestOnlyIfCached(t *testing.T) {
	o := newOrigin(t, text("cached"))
	clk := newClock()
	s := newSession(t, func(c *config.Config) { c.ExpireAfter = config.After(time.Minute) }, session.WithClock(clk.Now))
	c := s.Client()
	_, resp := do(t, c, withCtx(mustRequest(t, http.MethodGet, o.URL, nil), session.OnlyIfCached))
	if resp.StatusCode != http.StatusGatewayTimeout {
		t.Fatalf("uncached only-if-cached: status %d", resp.StatusCode)
	}
	wantCount(t, o, 0)
	get(t, c, o.URL)
	body, resp := do(t, c, withCtx(mustRequest(t, http.MethodGet, o.URL, nil), session.OnlyIfCached))
	if resp.StatusCode != 200 || body != "cached" || !session.InfoOf(resp).FromCache {
		t.Fatalf("fresh only-if-cached: %d %q %+v", resp.StatusCode, body, session.InfoOf(resp))
	}
	// Expired, it is the 504 (it used to be served stale): stale answers
	// need leave, as stale-if-error gives when the origin fails.
	clk.Advance(time.Hour)
	_, resp = do(t, c, withCtx(mustRequest(t, http.MethodGet, o.URL, nil), session.OnlyIfCached))
	if resp.StatusCode != http.StatusGatewayTimeout {
		t.Fatalf("expired only-if-cached: status %d", resp.StatusCode)
	}
	st := s.Settings()
	st.StaleIfError = config.StaleLimit{Enabled: true}
	if err := s.SetSettings(st); err != nil {
		t.Fatal(err)
	}
	body, resp = do(t, c, withCtx(mustRequest(t, http.MethodGet, o.URL, nil), session.OnlyIfCached))
	if resp.StatusCode != 200 || body != "cached" || !session.InfoOf(resp).Expired || !strings.Contains(resp.Header.Get("Cache-Status"), "detail=only-if-cached") {
		t.Fatalf("expired only-if-cached with stale_if_error: %d %q %+v %q", resp.StatusCode, body, session.InfoOf(resp), resp.Header.Get("Cache-Status"))
	}
	wantCount(t, o, 1)
}

func TestForceRefreshAndReadOnly(t *testing.T) {
	n := 0
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) { n++; fmt.Fprintf(w, "v%d", n) })
	s := newSession(t, nil)
	c := s.Client()
	get(t, c, o.URL)
	body, resp := do(t, c, withCtx(mustRequest(t, http.MethodGet, o.URL, nil), session.ForceRefresh))
	if body != "v2" || session.InfoOf(resp).FromCache || !session.InfoOf(resp).Stored {
		t.Fatalf("force refresh: %q %+v", body, session.InfoOf(resp))
	}
	if body, _ := get(t, c, o.URL); body != "v2" {
		t.Fatalf("after force refresh the new response is cached: got %q", body)
	}
	wantCount(t, o, 2)

	st := s.Settings()
	st.ReadOnly = true
	if err := s.SetSettings(st); err != nil {
		t.Fatal(err)
	}
	if body, _ := get(t, c, o.URL); body != "v2" {
		t.Fatalf("read_only still reads: got %q", body)
	}
	get(t, c, o.URL+"/new")
	get(t, c, o.URL+"/new")
	wantCount(t, o, 4)
	if n, _ := s.Cache().Len(context.Background()); n != 1 {
		t.Fatalf("read_only wrote: %d entries", n)
	}
}

func TestFilterIsRetroactive(t *testing.T) {
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Kind", r.URL.Query().Get("kind"))
		io.WriteString(w, "x")
	})
	allow := true
	s := newSession(t, nil, session.WithFilter(func(r *http.Response) bool {
		return allow && r.Header.Get("X-Kind") != "skip"
	}))
	c := s.Client()
	get(t, c, o.URL+"/?kind=skip")
	get(t, c, o.URL+"/?kind=skip")
	wantCount(t, o, 2)
	get(t, c, o.URL+"/?kind=keep")
	get(t, c, o.URL+"/?kind=keep")
	wantCount(t, o, 3)
	allow = false // the filter now rejects what is stored: the entry goes
	_, resp := get(t, c, o.URL+"/?kind=keep")
	if session.InfoOf(resp).FromCache {
		t.Fatal("a rejected entry was served")
	}
	wantCount(t, o, 4)
	if n, _ := s.Cache().Len(context.Background()); n != 0 {
		t.Fatalf("rejected entry kept: %d entries", n)
	}
}

func TestDisabledAndEnabledScopes(t *testing.T) {
	o := newOrigin(t, text("x"))
	s := newSession(t, nil)
	c := s.Client()
	req := func(f ...func(context.Context) context.Context) *http.Request {
		r := mustRequest(t, http.MethodGet, o.URL, nil)
		for _, g := range f {
			r = withCtx(r, g)
		}
		return r
	}
	do(t, c, req(session.Disabled))
	do(t, c, req(session.Disabled))
	wantCount(t, o, 2)
	if n, _ := s.Cache().Len(context.Background()); n != 0 {
		t.Fatalf("disabled wrote %d entries", n)
	}
	do(t, c, req(session.Disabled, session.Enabled))
	do(t, c, req(session.Disabled, session.Enabled))
	wantCount(t, o, 3)
	_, resp := do(t, c, req(session.Enabled, session.Disabled))
	wantCount(t, o, 4)
	if !strings.Contains(resp.Header.Get("Cache-Status"), "fwd=bypass") {
		t.Fatalf("disabled Cache-Status %q", resp.Header.Get("Cache-Status"))
	}
}

func TestWithExpireAfterPerRequest(t *testing.T) {
	o := newOrigin(t, text("x"))
	clk := newClock()
	s := newSession(t, func(c *config.Config) { c.ExpireAfter = config.After(time.Hour) }, session.WithClock(clk.Now))
	c := s.Client()
	do(t, c, withCtx(mustRequest(t, http.MethodGet, o.URL, nil), func(ctx context.Context) context.Context {
		return session.WithExpireAfter(ctx, config.After(time.Minute))
	}))
	clk.Advance(2 * time.Minute)
	get(t, c, o.URL)
	wantCount(t, o, 2)
}

func TestRedirectAliases(t *testing.T) {
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/old" {
			http.Redirect(w, r, "/new", http.StatusFound)
			return
		}
		io.WriteString(w, "new")
	})
	s := newSession(t, nil)
	c := s.Client()
	get(t, c, o.URL+"/old")
	wantCount(t, o, 2)
	body, resp := get(t, c, o.URL+"/old")
	if body != "new" || !session.InfoOf(resp).FromCache {
		t.Fatalf("alias: %q %+v", body, session.InfoOf(resp))
	}
	get(t, c, o.URL+"/new")
	wantCount(t, o, 2)
}

func TestDeleteSelectors(t *testing.T) {
	o := newOrigin(t, text("x"))
	clk := newClock()
	s := newSession(t, func(c *config.Config) { c.ExpireAfter = config.After(time.Hour) }, session.WithClock(clk.Now))
	c := s.Client()
	ctx := context.Background()
	get(t, c, o.URL+"/old")
	clk.Advance(2 * time.Hour) // /old is now expired and two hours old
	get(t, c, o.URL+"/a")
	get(t, c, o.URL+"/b?x=1")
	if n, _ := s.Cache().Len(ctx); n != 3 {
		t.Fatalf("len %d", n)
	}
	if ok, _ := s.Cache().Contains(ctx, session.Selector{URLs: []string{o.URL + "/b?x=1"}}); !ok {
		t.Fatal("Contains by URL")
	}
	if n, err := s.Cache().Delete(ctx, session.Selector{Expired: true}); n != 1 || err != nil {
		t.Fatalf("delete expired: %d %v", n, err)
	}
	if n, err := s.Cache().Delete(ctx, session.Selector{URLs: []string{o.URL + "/b?x=1"}}); n != 1 || err != nil {
		t.Fatalf("delete by URL: %d %v", n, err)
	}
	clk.Advance(30 * time.Minute)
	if n, _ := s.Cache().Delete(ctx, session.Selector{OlderThan: time.Hour}); n != 0 {
		t.Fatalf("older-than 1h deleted %d", n)
	}
	if n, _ := s.Cache().Delete(ctx, session.Selector{OlderThan: 10 * time.Minute}); n != 1 {
		t.Fatalf("older-than 10m deleted %d", n)
	}
	if n, _ := s.Cache().Len(ctx); n != 0 {
		t.Fatalf("left %d", n)
	}
	get(t, c, o.URL+"/a")
	wantCount(t, o, 4)
	if n, _ := s.Cache().Delete(ctx, session.Selector{Requests: []*http.Request{mustRequest(t, "GET", o.URL+"/a", nil)}}); n != 1 {
		t.Fatalf("delete by request: %d", n)
	}
}

func TestWrapKeepsClientSettings(t *testing.T) {
	o := newOrigin(t, text("w"))
	jarless := &http.Client{Timeout: 7 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	c, s, err := session.Wrap(jarless, config.Default())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if c == jarless || c.Timeout != 7*time.Second || c.CheckRedirect == nil || jarless.Transport != nil {
		t.Fatal("Wrap must copy the client and keep its settings")
	}
	get(t, c, o.URL)
	get(t, c, o.URL)
	wantCount(t, o, 1)
}

func TestBadSettingsAreErrors(t *testing.T) {
	s := newSession(t, nil)
	st := s.Settings()
	st.AllowableMethods = nil
	if err := s.SetSettings(st); err == nil {
		t.Fatal("empty methods accepted")
	}
	st = s.Settings()
	st.URLsExpireAfter = []config.URLExpiration{{Pattern: "[", ExpireAfter: config.NeverExpire}}
	if err := s.SetSettings(st); err == nil {
		t.Fatal("bad glob accepted")
	}
	if _, err := s.RoundTrip(&http.Request{}); err == nil {
		t.Fatal("request without URL accepted")
	}
}

// A hit's response is the caller's to change: changing its header must not change what the cache serves next, even when hits on one entry
// run at the same time (the memory store lends them one decoded entry).
func TestHitResponsesAreTheCallersToChange(t *testing.T) {
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=600")
		w.Header().Set("Etag", `"v1"`)
		w.Header().Add("X-Multi", "a")
		w.Header().Add("X-Multi", "b")
		io.WriteString(w, "original body")
	})
	s := newSession(t, func(c *config.Config) { c.CacheControl = true })
	c := s.Client()
	get(t, c, o.URL+"/x")
	check := func(resp *http.Response, body string) error {
		if body != "original body" || resp.Header.Get("Etag") != `"v1"` ||
			fmt.Sprint(resp.Header["X-Multi"]) != "[a b]" || resp.Header.Get("X-Changed") != "" ||
			len(resp.Header["Cache-Status"]) != 1 {
			return fmt.Errorf("hit changed by an earlier caller: body %q, header %v", body, resp.Header)
		}
		return nil
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 200 {
				resp, err := c.Get(o.URL + "/x")
				if err != nil {
					errs <- err
					return
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err := check(resp, string(b)); err != nil {
					errs <- err
					return
				}
				resp.Header.Set("X-Changed", "yes")
				resp.Header.Del("Etag")
				resp.Header["X-Multi"] = append(resp.Header["X-Multi"], "c")
				resp.Header["X-Multi"][0] = "changed"
				resp.Header.Add("Cache-Status", "another")
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// The paths that change an entry (a range, a revalidation) work on
	// their own copy, not on the one hits read.
	req := mustRequest(t, http.MethodGet, o.URL+"/x", nil)
	req.Header.Set("Range", "bytes=0-7")
	if body, resp := do(t, c, req); body != "original" || resp.StatusCode != http.StatusPartialContent {
		t.Fatalf("range: %d %q", resp.StatusCode, body)
	}
	req = mustRequest(t, http.MethodGet, o.URL+"/x", nil)
	req.Header.Set("Cache-Control", "no-cache")
	do(t, c, req)
	body, resp := get(t, c, o.URL+"/x")
	if err := check(resp, body); err != nil {
		t.Fatal(err)
	}
	wantCount(t, o, 2)
}
