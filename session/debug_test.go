package session_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/reqcache/reqcache/config"
	"github.com/reqcache/reqcache/session"
)

// page is a debug page mounted as a program would mount it.
type page struct {
	*httptest.Server
	t *testing.T
}

func mountPage(t *testing.T, s *session.Session, opts ...session.HandlerOption) *page {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("/debug/reqcache/", s.Cache().Handler(opts...))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &page{Server: srv, t: t}
}

// get returns the status and body of a view ("" is the overview).
func (p *page) get(view string) (int, string) {
	p.t.Helper()
	resp, err := http.Get(p.URL + "/debug/reqcache/" + view)
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// json decodes a view's JSON into v.
func (p *page) json(view string, v any) {
	p.t.Helper()
	sep := "?"
	if strings.Contains(view, "?") {
		sep = "&"
	}
	code, body := p.get(view + sep + "format=json")
	if code != http.StatusOK {
		p.t.Fatalf("%s: %d %s", view, code, body)
	}
	if err := json.Unmarshal([]byte(body), v); err != nil {
		p.t.Fatalf("%s: %v in %s", view, err, body)
	}
}

// post sends a change with form values (no redirects followed).
func (p *page) post(view string, form url.Values, header http.Header) (int, string) {
	p.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, p.URL+"/debug/reqcache/"+view, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, vs := range header {
		req.Header[k] = vs
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

type overviewJSON struct {
	Backend  string `json:"backend"`
	Entries  int    `json:"entries"`
	MaxBytes int64  `json:"max_bytes"`
	Counters struct {
		Hits, Misses int64
	} `json:"counters"`
	Requests int64   `json:"requests"`
	HitRatio float64 `json:"hit_ratio"`
	History  []struct {
		Requests, Cached int64
	} `json:"history"`
	Recent []struct {
		URL, Outcome, Key string
	} `json:"recent"`
}

type entriesJSON struct {
	Total    int    `json:"total"`
	Cursor   string `json:"cursor"`
	Page     int    `json:"page"`
	Examined int    `json:"examined"`
	More     bool   `json:"more"`
	Entries  []struct {
		Key, URL string
		Fresh    bool
		Status   int
	} `json:"entries"`
}

func TestPageOverviewCountsWhatTheCacheDid(t *testing.T) {
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		io.WriteString(w, "hello")
	})
	s := newSession(t, nil)
	p := mountPage(t, s)
	c := s.Client()
	for i := 0; i < 4; i++ {
		get(t, c, o.URL+"/a")
	}
	get(t, c, o.URL+"/b")
	wantCount(t, o, 2)

	var ov overviewJSON
	p.json("", &ov)
	if ov.Backend != "memory" || ov.Entries != 2 || ov.MaxBytes != 8<<20 {
		t.Errorf("backend %q entries %d max %d, want memory, 2, 8 MiB", ov.Backend, ov.Entries, ov.MaxBytes)
	}
	if ov.Counters.Hits != 3 || ov.Counters.Misses != 2 || ov.Requests != 5 || ov.HitRatio != 0.6 {
		t.Errorf("counters %+v requests %d ratio %v, want 3 hits, 2 misses, 5, 0.6", ov.Counters, ov.Requests, ov.HitRatio)
	}
	// The chart's interval in progress holds the requests since the page
	// was made.
	cur := ov.History[len(ov.History)-1]
	if cur.Requests != 5 || cur.Cached != 3 {
		t.Errorf("current interval %+v, want 5 requests, 3 cached", cur)
	}
	if len(ov.Recent) != 5 || ov.Recent[0].URL != o.URL+"/b" || ov.Recent[0].Outcome != "miss" || ov.Recent[1].Outcome != "hit" {
		t.Errorf("recent requests %+v, want 5, newest first: /b miss, then /a hit", ov.Recent)
	}
	code, body := p.get("")
	if code != 200 || !strings.Contains(body, `<svg id="chart"`) || !strings.Contains(body, `id="hit-ratio">60.0%`) {
		t.Errorf("overview page: %d, chart or hit ratio missing:\n%s", code, body)
	}
	if strings.Contains(body, "<form") {
		t.Error("a read-only page offers forms")
	}
}

func TestPageListsFiltersAndPagesEntries(t *testing.T) {
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/short") {
			w.Header().Set("Cache-Control", "max-age=1")
		} else {
			w.Header().Set("Cache-Control", "max-age=600")
		}
		io.WriteString(w, r.URL.Path)
	})
	clk := newClock()
	s := newSession(t, nil, session.WithClock(clk.Now))
	c := s.Client()
	for i := 0; i < 120; i++ {
		get(t, c, fmt.Sprintf("%s/items/%d", o.URL, i))
	}
	for i := 0; i < 3; i++ {
		get(t, c, fmt.Sprintf("%s/short/%d", o.URL, i))
	}
	clk.Advance(2 * time.Second)
	p := mountPage(t, s)

	// Unfiltered: pages of 50, each resuming where the last stopped, every
	// entry once.
	seen := map[string]bool{}
	var l entriesJSON
	p.json("entries", &l)
	for page := 1; ; page++ {
		if l.Total != 123 || l.Page != page {
			t.Fatalf("total %d page %d, want 123, %d", l.Total, l.Page, page)
		}
		for _, e := range l.Entries {
			if seen[e.Key] {
				t.Fatalf("page %d repeats %s", page, e.URL)
			}
			seen[e.Key] = true
		}
		if !l.More {
			break
		}
		if len(l.Entries) != 50 {
			t.Fatalf("page %d has %d rows, want 50", page, len(l.Entries))
		}
		p.json(fmt.Sprintf("entries?cursor=%s&page=%d", l.Cursor, page+1), &l)
	}
	if len(seen) != 123 || l.Examined != 123 {
		t.Fatalf("listed %d entries, examined %d, want 123", len(seen), l.Examined)
	}
	// Going back shows the same page again, without a new scan.
	var back entriesJSON
	p.json(fmt.Sprintf("entries?cursor=%s&page=1", l.Cursor), &back)
	if back.Page != 1 || len(back.Entries) != 50 {
		t.Fatalf("page 1 again: page %d, %d rows", back.Page, len(back.Entries))
	}

	// Filters: the expired ones, a URL substring, a host.
	p.json("entries?state=expired", &l)
	if len(l.Entries) != 3 || l.More {
		t.Fatalf("expired: %d rows (more %v), want the 3 short-lived", len(l.Entries), l.More)
	}
	for _, e := range l.Entries {
		if e.Fresh || !strings.Contains(e.URL, "/short/") {
			t.Errorf("expired filter listed %+v", e)
		}
	}
	p.json("entries?q=/items/11", &l) // 11, 110-119
	if len(l.Entries) != 11 {
		t.Errorf("q=/items/11: %d rows, want 11", len(l.Entries))
	}
	u, _ := url.Parse(o.URL)
	p.json("entries?state=fresh&host="+u.Hostname(), &l)
	if len(l.Entries) != 50 || !l.More {
		t.Errorf("fresh on host %s: %d rows (more %v), want a full page and more", u.Hostname(), len(l.Entries), l.More)
	}
	p.json("entries?host=elsewhere.example", &l)
	if len(l.Entries) != 0 || l.More {
		t.Errorf("another host: %d rows (more %v), want none", len(l.Entries), l.More)
	}
	code, body := p.get("entries?state=sometimes")
	if code != http.StatusBadRequest {
		t.Errorf("a bad state: %d %s", code, body)
	}
	code, body = p.get("entries?q=/items/11")
	if code != 200 || strings.Count(body, `href="entry?key=`) != 11 {
		t.Errorf("entries page: %d, %d links to entries, want 11", code, strings.Count(body, `href="entry?key=`))
	}
}

// A filter that matches nothing in a large store does not read it all in
// one request: the page reports how far it got and continues from there.
func TestPageListingReadsABoundedShareOfTheStorePerRequest(t *testing.T) {
	s := newSession(t, func(c *config.Config) { c.Memory.MaxSizeMB = 64 })
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=600")
	})
	c := s.Client()
	const n = 6000
	for i := 0; i < n; i++ {
		get(t, c, fmt.Sprintf("%s/%d", o.URL, i))
	}
	p := mountPage(t, s)
	var l entriesJSON
	p.json("entries?q=nowhere", &l)
	if l.Examined != 5000 || !l.More || len(l.Entries) != 0 {
		t.Fatalf("first request examined %d (more %v, %d rows), want 5000, more, none", l.Examined, l.More, len(l.Entries))
	}
	_, body := p.get("entries?q=nowhere")
	if !strings.Contains(body, "continue →") {
		t.Error("the page does not offer to continue the search")
	}
	p.json(fmt.Sprintf("entries?q=nowhere&cursor=%s&page=2", l.Cursor), &l)
	if l.Examined != n || l.More {
		t.Fatalf("second request: examined %d (more %v), want %d and the end", l.Examined, l.More, n)
	}
}

func TestPageEntryShowsWhyAndNoCredential(t *testing.T) {
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=30, stale-while-revalidate=60")
		w.Header().Set("ETag", `"v1"`)
		w.Header().Set("Content-Location", "/doc?api_key=locsecret")
		io.WriteString(w, "doc")
	})
	clk := newClock()
	s := newSession(t, func(c *config.Config) { c.IgnoredParameters = append(c.IgnoredParameters, "api_key") }, session.WithClock(clk.Now))
	p := mountPage(t, s)
	req := mustRequest(t, http.MethodGet, o.URL+"/doc?api_key=querysecret&v=1", nil)
	req.Header.Set("Authorization", "Bearer headersecret")
	req.Header.Set("X-Trace", "visible")
	_, resp := do(t, s.Client(), req)
	key := session.InfoOf(resp).Key

	var l entriesJSON
	p.json("entries", &l)
	if len(l.Entries) != 1 || l.Entries[0].Key != key {
		t.Fatalf("entries %+v, want the one stored under %s", l.Entries, key)
	}
	code, body := p.get("entry?key=" + key)
	if code != 200 {
		t.Fatalf("entry: %d %s", code, body)
	}
	for _, want := range []string{"Fresh until", "max-age=30", "If-None-Match", "stale-while-revalidate=60", "visible", key} {
		if !strings.Contains(body, want) {
			t.Errorf("entry page lacks %q", want)
		}
	}
	clk.Advance(31 * time.Second)
	var e struct {
		Fresh     bool
		Freshness []string
		History   []struct{ Outcome string }
	}
	p.json("entry?key="+key, &e)
	if e.Fresh || !strings.HasPrefix(e.Freshness[0], "Stale since") || len(e.History) != 1 || e.History[0].Outcome != "miss" {
		t.Errorf("after 31 s: fresh %v, %q, history %+v", e.Fresh, e.Freshness, e.History)
	}
	// No view, HTML or JSON, shows a credential.
	for _, view := range []string{"", "?format=json", "entries", "entries?format=json", "entry?key=" + key, "entry?key=" + key + "&format=json"} {
		_, body := p.get(view)
		for _, secret := range []string{"querysecret", "headersecret", "locsecret"} {
			if strings.Contains(body, secret) {
				t.Errorf("%q shows %s", view, secret)
			}
		}
	}
	if code, _ := p.get("entry?key=0123"); code != http.StatusNotFound {
		t.Errorf("an unknown key: %d, want 404", code)
	}
	if code, _ := p.get("nosuchview"); code != http.StatusNotFound {
		t.Errorf("an unknown view: %d, want 404", code)
	}
}

var csrfField = regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`)

func TestPageChangesOnlyWhenAllowedAndWithTheToken(t *testing.T) {
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=600")
		io.WriteString(w, "v")
	})
	s := newSession(t, nil)
	c := s.Client()
	_, resp := get(t, c, o.URL+"/one")
	key := session.InfoOf(resp).Key
	get(t, c, o.URL+"/two")
	count := func() int {
		n, err := s.Cache().Len(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		return n
	}

	readOnly := mountPage(t, s)
	if code, _ := readOnly.post("delete", url.Values{"key": {key}}, nil); code != http.StatusForbidden {
		t.Errorf("delete on a read-only page: %d, want 403", code)
	}
	if code, _ := readOnly.post("clear", nil, nil); code != http.StatusForbidden || count() != 2 {
		t.Errorf("clear on a read-only page: %d, %d entries left, want 403 and 2", code, count())
	}

	p := mountPage(t, s, session.AllowChanges())
	_, body := p.get("entry?key=" + key)
	m := csrfField.FindStringSubmatch(body)
	if m == nil {
		t.Fatal("the page with changes allowed has no form token")
	}
	token := m[1]
	if code, _ := p.get("delete?key=" + key); code != http.StatusMethodNotAllowed {
		t.Errorf("GET delete: %d, want 405", code)
	}
	if code, _ := p.post("delete", url.Values{"key": {key}}, nil); code != http.StatusForbidden {
		t.Errorf("delete without the token: %d, want 403", code)
	}
	wrong := "0" + token[1:]
	if token[0] == '0' {
		wrong = "1" + token[1:]
	}
	if code, _ := p.post("delete", url.Values{"key": {key}, "csrf": {wrong}}, nil); code != http.StatusForbidden {
		t.Errorf("delete with a wrong token: %d, want 403", code)
	}
	if code, _ := p.post("delete", url.Values{"key": {key}, "csrf": {token}}, http.Header{"Sec-Fetch-Site": {"cross-site"}}); code != http.StatusForbidden {
		t.Errorf("delete from another site: %d, want 403", code)
	}
	if count() != 2 {
		t.Fatalf("refused deletes deleted: %d entries", count())
	}
	code, _ := p.post("delete", url.Values{"key": {key}, "csrf": {token}}, http.Header{"Sec-Fetch-Site": {"same-origin"}})
	if code != http.StatusSeeOther || count() != 1 {
		t.Fatalf("delete: %d, %d entries left, want 303 and 1", code, count())
	}
	get(t, c, o.URL+"/one")
	wantCount(t, o, 3) // fetched again
	code, body = p.post("clear?format=json", url.Values{"csrf": {token}}, nil)
	if code != http.StatusOK || !strings.Contains(body, "Cleared") || count() != 0 {
		t.Fatalf("clear: %d %s, %d entries left", code, body, count())
	}
}

// Close stops what a page started (its sampler, the scans of listings in
// progress), and a page made after Close starts nothing.
func TestPageAfterClose(t *testing.T) {
	s := newSession(t, nil)
	o := newOrigin(t, text("x"))
	for i := 0; i < 60; i++ {
		get(t, s.Client(), fmt.Sprintf("%s/%d", o.URL, i))
	}
	p := mountPage(t, s)
	var l entriesJSON
	p.json("entries", &l) // a scan paused after the first page
	if !l.More || !strings.Contains(goroutines(), "debugpage") {
		t.Fatal("no listing in progress or no sampler: the test tests nothing")
	}
	s.Close()
	if g := goroutines(); strings.Contains(g, "debugpage") {
		t.Fatalf("the page's goroutines outlive Close:\n%s", g)
	}
	h := s.Cache().Handler()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/debug/reqcache/entries?format=json", nil))
	if rec.Code != http.StatusServiceUnavailable {
		t.Errorf("a closed session's page: %d, want 503 (the store is closed)", rec.Code)
	}
	if g := goroutines(); strings.Contains(g, "debugpage") {
		t.Fatalf("a page made after Close started goroutines:\n%s", g)
	}
}

func goroutines() string {
	b := make([]byte, 1<<20)
	return string(b[:runtime.Stack(b, true)])
}

// The page shows a confirmation only for a change it made, once: the text
// of a link's ?done= is never shown, on a read-only page or any other
// (issue 37, finding 7).
func TestPageConfirmsOnlyItsOwnChanges(t *testing.T) {
	o := newOrigin(t, text("x"))
	s := newSession(t, nil)
	get(t, s.Client(), o.URL+"/one")
	spoof := "?done=" + url.QueryEscape("Your account is suspended: call 555-0100")
	for _, p := range []*page{mountPage(t, s), mountPage(t, s, session.AllowChanges())} {
		if _, body := p.get("" + spoof); strings.Contains(body, "suspended") {
			t.Fatal("the page shows a message from its link")
		}
	}
	p := mountPage(t, s, session.AllowChanges())
	_, body := p.get("")
	token := csrfField.FindStringSubmatch(body)[1]
	req, _ := http.NewRequest(http.MethodPost, p.URL+"/debug/reqcache/clear", strings.NewReader(url.Values{"csrf": {token}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || strings.Contains(loc, "Cleared") {
		t.Fatalf("clear: %d, Location %q", resp.StatusCode, loc)
	}
	if _, body := p.get(loc); !strings.Contains(body, "Cleared the cache.") {
		t.Fatalf("the redirect's page does not confirm the change: %s", body)
	}
	if _, body := p.get(loc); strings.Contains(body, "Cleared the cache.") {
		t.Fatal("the confirmation shows again")
	}
}

// The page says where an entry's lifetime came from as the storability
// decision recorded it (issue 37, finding 10): not re-derived from the
// stored headers, which cannot know cache_control, the request's max-age or
// WithExpireAfter.
func TestPageEntrySaysWhereItsLifetimeCameFrom(t *testing.T) {
	for _, c := range []struct {
		name     string
		set      func(*config.Config)
		req      func(*http.Request) *http.Request
		header   map[string]string
		lifetime string
		says     string
	}{
		{"the response's max-age", nil, nil, map[string]string{"Cache-Control": "max-age=60"}, "max-age", "max-age=60"},
		{"the response's Expires", nil, nil, map[string]string{"Expires": "Thu, 01 Jan 2099 00:00:00 GMT"}, "expires", "Expires"},
		{"max-age ignored without cache_control", func(c *config.Config) { c.CacheControl = false; c.ExpireAfter = config.After(time.Hour) }, nil,
			map[string]string{"Cache-Control": "max-age=60"}, "expire_after", "lifetime of 1h0m0s: the expire_after setting"},
		{"WithExpireAfter", nil, func(r *http.Request) *http.Request {
			return r.WithContext(session.WithExpireAfter(r.Context(), config.After(10*time.Minute)))
		}, nil, "option", "10m0s: WithExpireAfter"},
		{"the request's max-age", nil, func(r *http.Request) *http.Request { r.Header.Set("Cache-Control", "max-age=30"); return r },
			nil, "request-max-age", "30s: the request that stored it said Cache-Control: max-age"},
		{"a urls_expire_after pattern", func(c *config.Config) {
			c.URLsExpireAfter = []config.URLExpiration{{Pattern: "*/doc", ExpireAfter: config.After(2 * time.Minute)}}
		}, nil, nil, "urls_expire_after", "2m0s: a pattern of urls_expire_after"},
		{"a no-cache response", nil, nil, map[string]string{"Cache-Control": "no-cache", "ETag": `"v"`}, "no-cache", "stale as it arrived"},
		{"a heuristic", func(c *config.Config) { c.ExpireAfter = config.NeverExpire }, nil, map[string]string{"Last-Modified": "Mon, 01 Jan 2024 00:00:00 GMT"}, "heuristic", "heuristic"},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
				for k, v := range c.header {
					w.Header().Set(k, v)
				}
				io.WriteString(w, "doc")
			})
			s := newSession(t, func(cf *config.Config) {
				cf.ExpireAfter = config.After(5 * time.Minute)
				if c.set != nil {
					c.set(cf)
				}
			})
			p := mountPage(t, s)
			req := mustRequest(t, http.MethodGet, o.URL+"/doc", nil)
			if c.req != nil {
				req = c.req(req)
			}
			_, resp := do(t, s.Client(), req)
			info := session.InfoOf(resp)
			if !info.Stored {
				t.Fatalf("not stored: %+v", info)
			}
			var e struct {
				Lifetime  string
				Freshness []string
			}
			p.json("entry?key="+info.Key, &e)
			if got := strings.Join(e.Freshness, " "); e.Lifetime != c.lifetime || !strings.Contains(got, c.says) {
				t.Errorf("lifetime %q, %q; want %q, saying %q", e.Lifetime, got, c.lifetime, c.says)
			}
		})
	}
}

// ResetExpiration gives stale entries a new life, and the entry says so.
func TestResetExpirationRevivesAndSaysSo(t *testing.T) {
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=1")
		io.WriteString(w, "doc")
	})
	clk := newClock()
	s := newSession(t, nil, session.WithClock(clk.Now))
	p := mountPage(t, s)
	_, resp := do(t, s.Client(), mustRequest(t, http.MethodGet, o.URL+"/doc", nil))
	key := session.InfoOf(resp).Key
	clk.Advance(2 * time.Second)
	n, err := s.Cache().ResetExpiration(t.Context(), config.After(time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("ResetExpiration = %d, %v; want 1 entry", n, err)
	}
	_, resp = do(t, s.Client(), mustRequest(t, http.MethodGet, o.URL+"/doc", nil))
	if o.count() != 1 || !session.InfoOf(resp).FromCache {
		t.Fatalf("after the reset: %d origin requests, from cache %v; want 1, a hit", o.count(), session.InfoOf(resp).FromCache)
	}
	var e struct{ Lifetime string }
	p.json("entry?key="+key, &e)
	if e.Lifetime != "reset" {
		t.Errorf("lifetime %q, want reset", e.Lifetime)
	}
}

// Rows of one URL stored under Vary say what selects each, and the store
// size is what the entries hold, not what bigcache allocated (issue 41,
// finding 5: "2.7 MiB of 256 MiB" for 24 entries of ~360 B).
func TestPageTellsVariantsApartAndSizesWhatIsHeld(t *testing.T) {
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Vary", "Accept-Language")
		io.WriteString(w, "doc in "+r.Header.Get("Accept-Language"))
	})
	s := newSession(t, nil)
	p := mountPage(t, s)
	for _, lang := range []string{"de", "fr"} {
		req := mustRequest(t, http.MethodGet, o.URL+"/doc", nil)
		req.Header.Set("Accept-Language", lang)
		do(t, s.Client(), req)
	}
	var l struct {
		Entries []struct{ Selects string } `json:"entries"`
	}
	p.json("entries", &l)
	var got []string
	for _, r := range l.Entries {
		got = append(got, r.Selects)
	}
	slices.Sort(got)
	if want := []string{"Accept-Language: de", "Accept-Language: fr"}; !slices.Equal(got, want) {
		t.Errorf("the variants' rows say %q, want %q", got, want)
	}
	var b struct {
		Bytes int64 `json:"bytes"`
	}
	p.json("", &b)
	if b.Bytes <= 0 || b.Bytes > 16<<10 {
		t.Errorf("store size %d bytes for two small entries", b.Bytes)
	}
}
