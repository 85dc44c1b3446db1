package session_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/reqcache/reqcache/config"
	"github.com/reqcache/reqcache/session"
)

// These tests are the findings of an adversarial review (issue 22): each
// reproduced a request answered with a response meant for another, or a
// security promise broken, before the fix. Each asserts what a user would
// see: bodies, cookies, and the requests reaching the origin.

// echo answers with what selects a response: Host, path and body.
func echo(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	fmt.Fprintf(w, "host=%s path=%s body=%s", r.Host, r.URL.Path, b)
}

func TestHostHeaderSelectsTheResponse(t *testing.T) {
	o := newOrigin(t, echo)
	c := newSession(t, nil).Client()
	for _, round := range []int{1, 2} {
		for _, host := range []string{"tenant-a.example", "tenant-b.example"} {
			req := mustRequest(t, "GET", o.URL+"/dashboard", nil)
			req.Host = host
			body, resp := do(t, c, req)
			if !strings.HasPrefix(body, "host="+host+" ") {
				t.Fatalf("round %d: request for %s answered %q", round, host, body)
			}
			if got := session.InfoOf(resp).FromCache; got != (round == 2) {
				t.Fatalf("round %d %s: FromCache %v", round, host, got)
			}
		}
	}
	wantCount(t, o, 2)
}

func TestOpaqueURLPathIsKeyed(t *testing.T) {
	o := newOrigin(t, echo)
	s := newSession(t, nil)
	c := s.Client()
	base, _ := url.Parse(o.URL)
	for _, user := range []string{"alice", "bob", "alice", "bob"} {
		req := mustRequest(t, "GET", o.URL, nil)
		req.URL.Opaque = "//" + base.Host + "/users/" + user + "/private"
		body, _ := do(t, c, req)
		if !strings.Contains(body, "path=/users/"+user+"/private") {
			t.Fatalf("%s answered %q", user, body)
		}
	}
	wantCount(t, o, 2)
	urls, err := s.Cache().URLs(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(urls) != 2 || !strings.HasSuffix(urls[0], "/users/alice/private") || !strings.HasSuffix(urls[1], "/users/bob/private") {
		t.Fatalf("stored URLs %v, want the two opaque paths", urls)
	}
}

func TestCoalescedWaitersNeverGetAnotherVariant(t *testing.T) {
	arrived := make(chan struct{}, 4)
	release := make(chan struct{})
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-release
		w.Header().Set("Vary", "Accept-Language")
		io.WriteString(w, "lang="+r.Header.Get("Accept-Language"))
	})
	s := newSession(t, nil)
	c := s.Client()
	for _, cancellable := range []bool{false, true} {
		t.Run(fmt.Sprintf("cancellable=%v", cancellable), func(t *testing.T) {
			path := fmt.Sprintf("/greeting-%v", cancellable)
			results := make(map[string]string)
			var mu sync.Mutex
			var wg sync.WaitGroup
			ask := func(lang string) {
				defer wg.Done()
				req := mustRequest(t, "GET", o.URL+path, nil)
				req.Header.Set("Accept-Language", lang)
				if cancellable {
					ctx, cancel := context.WithCancel(context.Background())
					defer cancel()
					req = req.WithContext(ctx)
				}
				body, _ := do(t, c, req)
				mu.Lock()
				results[lang] = body
				mu.Unlock()
			}
			before := s.Stats().Coalesced
			wg.Add(1)
			go ask("fr")
			<-arrived // fr's trip is at the origin
			wg.Add(1)
			go ask("de")
			// de either joins fr's flight (then fetches for itself once
			// it sees the Vary) or reaches the origin on its own.
			deadline := time.Now().Add(5 * time.Second)
			for s.Stats().Coalesced == before && len(arrived) == 0 && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
			close(release)
			wg.Wait()
			release = make(chan struct{})
			for len(arrived) > 0 {
				<-arrived
			}
			if results["fr"] != "lang=fr" || results["de"] != "lang=de" {
				t.Fatalf("answers %v: a waiter got another variant", results)
			}
		})
	}
}

func TestNotModifiedNeverStoresSetCookieOrCredentialVary(t *testing.T) {
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		user := r.Header.Get("Authorization")
		w.Header().Set("ETag", `"v1"`)
		w.Header().Set("Cache-Control", "max-age=0")
		if r.Header.Get("If-None-Match") == `"v1"` {
			switch user {
			case "alice":
				w.Header().Set("Set-Cookie", "sid=alice-secret")
			case "dave":
				w.Header().Set("Vary", "Authorization")
			}
			w.WriteHeader(http.StatusNotModified)
			return
		}
		io.WriteString(w, "public page")
	})
	s := newSession(t, func(c *config.Config) {
		c.SeparateCredentials = false
		c.CacheControl = true
	})
	c := s.Client()
	send := func(user string) *http.Response {
		req := mustRequest(t, "GET", o.URL+"/page", nil)
		req.Header.Set("Authorization", user)
		body, resp := do(t, c, req)
		if body != "public page" {
			t.Fatalf("%s got %q", user, body)
		}
		return resp
	}
	send("carol") // stored: no cookie, no Vary
	if got := send("alice").Header.Get("Set-Cookie"); got != "sid=alice-secret" {
		t.Fatalf("alice's own 304 lost her cookie: %q", got)
	}
	if got := send("bob").Header.Get("Set-Cookie"); got != "" {
		t.Fatalf("bob was served alice's cookie %q", got)
	}
	send("dave") // a 304 that varies on Authorization
	for r, err := range s.Cache().Responses(context.Background(), session.Filter{}) {
		if err != nil {
			t.Fatal(err)
		}
		if r.Header.Get("Set-Cookie") != "" || r.Header.Get("Vary") != "" {
			t.Fatalf("stored entry holds %v", r.Header)
		}
	}
}

func TestSetCookieNeverReplayedToAnonymousCallers(t *testing.T) {
	var n atomic.Int64
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "sid", Value: fmt.Sprintf("SESSION-%d", n.Add(1))})
		io.WriteString(w, "welcome")
	})
	c := newSession(t, nil).Client() // separate_credentials = true, the default
	_, first := get(t, c, o.URL+"/")
	if first.Header.Get("Set-Cookie") != "sid=SESSION-1" {
		t.Fatalf("the first caller's own cookie: %q", first.Header.Get("Set-Cookie"))
	}
	body, second := get(t, c, o.URL+"/")
	if body != "welcome" || !session.InfoOf(second).FromCache {
		t.Fatalf("second caller: %q from cache %v; the page should still be cached", body, session.InfoOf(second).FromCache)
	}
	if got := second.Header.Get("Set-Cookie"); got != "" {
		t.Fatalf("second anonymous caller was handed %q, the first caller's session", got)
	}
}

func TestCoalescedWaiterNeverGetsTheLeadersCookie(t *testing.T) {
	arrived := make(chan struct{}, 1)
	release := make(chan struct{})
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-release
		w.Header().Set("Set-Cookie", "sid=leader")
		io.WriteString(w, "page")
	})
	s := newSession(t, nil)
	c := s.Client()
	var wg sync.WaitGroup
	cookies := make([]string, 2)
	for i := range cookies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, resp := get(t, c, o.URL+"/")
			cookies[i] = resp.Header.Get("Set-Cookie")
		}()
		if i == 0 {
			<-arrived // the leader's trip is at the origin
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for s.Stats().Coalesced == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	close(release)
	wg.Wait()
	wantCount(t, o, 1)
	if cookies[0] != "sid=leader" || cookies[1] != "" {
		t.Fatalf("cookies seen by leader and waiter: %q", cookies)
	}
}

func TestRedirectAliasOnlyWhenTheRedirectMayBeStored(t *testing.T) {
	var visitors atomic.Int64
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/whoami":
			w.Header().Set("Cache-Control", "no-store")
			http.Redirect(w, r, fmt.Sprintf("/users/%d", visitors.Add(1)), http.StatusFound)
		case r.URL.Path == "/old":
			http.Redirect(w, r, "/new", http.StatusMovedPermanently)
		default:
			io.WriteString(w, "profile "+r.URL.Path)
		}
	})
	for _, cc := range []bool{false, true} {
		t.Run(fmt.Sprintf("cache_control=%v", cc), func(t *testing.T) {
			visitors.Store(0)
			c := newSession(t, func(c *config.Config) { c.CacheControl = cc }).Client()
			for i := 1; i <= 2; i++ {
				if body, _ := get(t, c, o.URL+"/whoami"); body != fmt.Sprintf("profile /users/%d", i) {
					t.Fatalf("visitor %d answered %q", i, body)
				}
			}
			if visitors.Load() != 2 {
				t.Fatalf("/whoami reached %d times, want 2", visitors.Load())
			}
			// A plain permanent redirect is still remembered.
			before := o.count()
			get(t, c, o.URL+"/old")
			get(t, c, o.URL+"/old")
			wantCount(t, o, before+2)
		})
	}
}

func TestKeyFieldsNeverRunIntoEachOther(t *testing.T) {
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "ct=%s x-a=%s body=%q", r.Header.Get("Content-Type"), r.Header.Get("X-A"), b)
	})
	type request struct {
		contentType, header, body string
	}
	for _, tc := range []struct {
		name string
		a, b request
	}{
		{"a body that spells a matched header", request{"", "v", "p"}, request{"", "", "p\nx-a:v"}},
		{"invalid UTF-8 in JSON strings", request{"application/json", "", "{\"q\":\"\xff\"}"}, request{"application/json", "", "{\"q\":\"\xfe\"}"}},
		{"trailing data after JSON", request{"application/json", "", `{"q":1}`}, request{"application/json", "", `{"q":1}}{"admin":true}`}},
		{"duplicate JSON names", request{"application/json", "", `{"a":1,"a":2}`}, request{"application/json", "", `{"a":2}`}},
		{"the body's content type", request{"application/x-www-form-urlencoded", "", "b=2&a=1"}, request{"text/plain", "", "a=1&b=2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newSession(t, func(c *config.Config) {
				c.AllowableMethods = []string{"GET", "POST"}
				c.MatchHeaders = config.MatchHeaders{Names: []string{"X-A"}}
			}).Client()
			before := o.count()
			var bodies []string
			for _, r := range []request{tc.a, tc.b, tc.a, tc.b} {
				req := mustRequest(t, "POST", o.URL+"/q", strings.NewReader(r.body))
				if r.contentType != "" {
					req.Header.Set("Content-Type", r.contentType)
				}
				if r.header != "" {
					req.Header.Set("X-A", r.header)
				}
				body, _ := do(t, c, req)
				bodies = append(bodies, body)
			}
			if bodies[0] == bodies[1] || bodies[0] != bodies[2] || bodies[1] != bodies[3] {
				t.Fatalf("answers %q: the two requests shared a response", bodies)
			}
			wantCount(t, o, before+2)
		})
	}
}

func TestCredentialsOutsideRequestsCachesList(t *testing.T) {
	const secret = "SECRET-credential-42"
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "for %s%s", r.Header.Get("Api-Key"), r.Header.Get("Private-Token"))
	})
	s := newSession(t, nil)
	c := s.Client()
	// ';'-separated query parameters are redacted like '&'-separated ones.
	get(t, c, o.URL+"/semi?x=1;api_key="+secret)
	// Common credential headers beyond requests-cache's list separate
	// users and are redacted.
	for _, name := range []string{"Api-Key", "X-Goog-Api-Key", "Ocp-Apim-Subscription-Key", "Private-Token", "X-Vault-Token"} {
		for _, user := range []string{"alice", "bob"} {
			req := mustRequest(t, "GET", o.URL+"/h/"+name, nil)
			req.Header.Set(name, secret+"-"+user)
			do(t, c, req)
		}
	}
	wantCount(t, o, 1+5*2)
	for r, err := range s.Cache().Responses(context.Background(), session.Filter{}) {
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(r.URL, secret) {
			t.Fatalf("stored URL %s holds the secret", r.URL)
		}
		for name, vs := range r.RequestHeader {
			if strings.Contains(strings.Join(vs, ""), secret) {
				t.Fatalf("stored request header %s holds the secret", name)
			}
		}
	}
}

// fmtErrorUpstream fails the way many wrappers do: an error built with
// fmt.Errorf that quotes the request URL and a header.
type fmtErrorUpstream struct{}

func (fmtErrorUpstream) RoundTrip(req *http.Request) (*http.Response, error) {
	return nil, fmt.Errorf("dial %s (key %s): connection refused", req.URL, req.Header.Get("X-Goog-Api-Key"))
}

func TestErrorsOfAnyTypeAreLoggedWithoutSecrets(t *testing.T) {
	const secret = "s3cr3t-in-error"
	core, logs := observer.New(zap.DebugLevel)
	s := newSession(t, nil, session.WithUpstream(fmtErrorUpstream{}), session.WithLogger(zap.New(core)))
	req := mustRequest(t, "GET", "http://user:"+secret+"@api.example/x?access_token="+secret+"&q=1", nil)
	req.Header.Set("X-Goog-Api-Key", secret+"-header")
	if _, err := s.Client().Do(req); err == nil {
		t.Fatal("want the upstream's error")
	}
	if logs.Len() == 0 {
		t.Fatal("nothing logged")
	}
	for _, e := range logs.All() {
		for k, v := range e.ContextMap() {
			if strings.Contains(fmt.Sprint(v), secret) {
				t.Fatalf("logged %s=%v", k, v)
			}
		}
	}
}

func TestConflictingMaxAgeIsStale(t *testing.T) {
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Cache-Control", "max-age=0")
		w.Header().Add("Cache-Control", "max-age=3600")
		w.Header().Set("ETag", `"x"`)
		io.WriteString(w, "doc")
	})
	c := newSession(t, func(c *config.Config) { c.CacheControl = true }).Client()
	get(t, c, o.URL+"/")
	_, resp := get(t, c, o.URL+"/")
	if session.InfoOf(resp).FromCache && !session.InfoOf(resp).Revalidated {
		t.Fatal("conflicting max-age values were read as fresh (the last one won)")
	}
	wantCount(t, o, 2)
}

func TestHugeAgeIsStaleNotFresh(t *testing.T) {
	clk := newClock()
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		clk.Advance(2 * time.Second) // a slow origin: response delay > 0
		w.Header().Set("Cache-Control", "max-age=3600")
		w.Header().Set("Age", "99999999999999999999")
		io.WriteString(w, "old news")
	})
	c := newSession(t, func(c *config.Config) { c.CacheControl = true }, session.WithClock(clk.Now)).Client()
	get(t, c, o.URL+"/")
	_, resp := get(t, c, o.URL+"/")
	if session.InfoOf(resp).FromCache {
		t.Fatal("a response older than its max-age was served fresh (age arithmetic wrapped)")
	}
	wantCount(t, o, 2)
}

// githubAPI answers like api.github.com: Vary on credentials, an ETag, and
// private, max-age=60; a matching If-None-Match gets a 304.
func githubAPI(t *testing.T) (*origin, *atomic.Int64) {
	var notModified atomic.Int64
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		tag := `"` + r.Header.Get("Authorization") + `-v1"`
		w.Header().Add("Vary", "Accept, Authorization, Cookie, X-GitHub-OTP")
		w.Header().Add("Vary", "Accept-Encoding, Accept, X-Requested-With")
		w.Header().Set("Cache-Control", "private, max-age=60, s-maxage=60")
		w.Header().Set("ETag", tag)
		if r.Header.Get("If-None-Match") == tag {
			notModified.Add(1)
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"login":%q}`, strings.TrimPrefix(r.Header.Get("Authorization"), "token "))
	})
	return o, &notModified
}

func TestVaryOnCredentialsIsCachedPerCredentials(t *testing.T) {
	o, notModified := githubAPI(t)
	clk := newClock()
	c := newSession(t, func(c *config.Config) { c.CacheControl = true }, session.WithClock(clk.Now)).Client()
	call := func(token string) *http.Response {
		req := mustRequest(t, "GET", o.URL+"/user", nil)
		req.Header.Set("Authorization", "token "+token)
		req.Header.Set("Accept", "application/vnd.github+json")
		body, resp := do(t, c, req)
		if body != `{"login":"`+token+`"}` {
			t.Fatalf("token %s answered %s", token, body)
		}
		return resp
	}
	for _, token := range []string{"alice", "bob", "alice", "bob"} {
		call(token)
	}
	wantCount(t, o, 2) // one per token, then hits within max-age
	clk.Advance(61 * time.Second)
	for _, token := range []string{"alice", "bob"} {
		if info := session.InfoOf(call(token)); !info.Revalidated {
			t.Fatalf("%s after max-age: %+v, want a 304 revalidation", token, info)
		}
	}
	if notModified.Load() != 2 {
		t.Fatalf("%d 304s, want 2", notModified.Load())
	}
	wantCount(t, o, 4)
}

func TestVaryOnCredentialsIsNeverStoredWhenShared(t *testing.T) {
	o, _ := githubAPI(t)
	c := newSession(t, func(c *config.Config) {
		c.CacheControl = true
		c.SeparateCredentials = false
	}).Client()
	for _, token := range []string{"alice", "alice", "bob"} {
		req := mustRequest(t, "GET", o.URL+"/user", nil)
		req.Header.Set("Authorization", "token "+token)
		if body, _ := do(t, c, req); body != `{"login":"`+token+`"}` {
			t.Fatalf("token %s answered %s", token, body)
		}
	}
	wantCount(t, o, 3)
}

// Every name CredentialHeaders promises is a credential: two users sending
// different values are answered separately, and the value never reaches
// the store in the clear (the export shows what is stored).
func TestEveryCredentialHeaderSeparatesUsersAndIsRedacted(t *testing.T) {
	const secret = "SECRET-credential-77"
	names := session.CredentialHeaders()
	if len(names) == 0 {
		t.Fatal("no credential headers")
	}
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%d", len(r.Header))
	})
	s := newSession(t, nil)
	c := s.Client()
	for _, name := range names {
		for _, user := range []string{"alice", "bob", "alice"} {
			req := mustRequest(t, "GET", o.URL+"/h/"+name, nil)
			req.Header.Set(name, secret+"-"+user)
			do(t, c, req)
		}
	}
	// Each user's first request goes to the origin; alice's second may be
	// a hit (her own) or go on (a credential the cache does not store
	// under), never an answer for bob.
	if n := o.count(); n < int64(2*len(names)) {
		t.Fatalf("origin saw %d requests for %d credential headers and two users: one user was answered with another's response", n, len(names))
	}
	var export strings.Builder
	if _, err := s.Cache().Export(context.Background(), &export, session.Filter{}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(export.String(), secret) {
		t.Fatalf("the store holds a credential in the clear:\n%s", export.String())
	}
	if stored := strings.Count(export.String(), "\n"); stored < len(names) {
		t.Fatalf("%d responses stored for %d credential headers: the check above saw too little", stored, len(names))
	}
}
