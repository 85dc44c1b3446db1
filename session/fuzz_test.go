package session

import (
	"bytes"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/reqcache/reqcache/config"
)

// The fuzz targets run their seed corpus (testdata/fuzz) with every go
// test; `go test -fuzz=FuzzX ./session` explores further. Each found crash
// is committed under testdata/fuzz and so becomes a regression test.

func FuzzCacheControl(f *testing.F) {
	for _, s := range [][5]string{
		{"max-age=60", "", "", "", ""},
		{"no-cache, max-age=0, must-revalidate", "no-cache", "", "", "3"},
		{`private, no-cache="Set-Cookie", max-age="30"`, "", "Thu, 01 Jan 1970 00:00:00 GMT", "", ""},
		{"s-maxage=99999999999999999999, stale-while-revalidate=5, stale-if-error", "", "", "", ""},
		{"max-age=-1,,, ;=, no-store", "", "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994", "-5"},
		{"immutable", "", "0", "Mon, 02 Jan 2006 15:04:05 GMT", "99999999999999999999"},
		{"MAX-AGE = 10 , max-stale, min-fresh=abc", "", "Mon, 32 Jan 2006 15:04:05 GMT", "", "1,2"},
	} {
		f.Add(s[0], s[1], s[2], s[3], s[4])
	}
	p, err := compile(SettingsFrom(config.Default()))
	if err != nil {
		f.Fatal(err)
	}
	p.CacheControl = true
	requestedAt := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	receivedAt := requestedAt.Add(time.Second)
	f.Fuzz(func(t *testing.T, cc, pragma, expires, date, age string) {
		h := http.Header{}
		for name, v := range map[string]string{"Cache-Control": cc, "Pragma": pragma, "Expires": expires, "Date": date, "Age": age} {
			if v != "" {
				h[name] = []string{v}
			}
		}
		d := parseDirectives(h)
		if again := parseDirectives(h); again != d {
			t.Fatalf("parsing %q twice gave %+v then %+v", cc, d, again)
		}
		for name, v := range map[string]time.Duration{
			"max-age": d.maxAge, "s-maxage": d.sMaxAge, "max-stale": d.maxStale, "min-fresh": d.minFresh,
			"stale-if-error": d.staleIfError, "stale-while-revalidate": d.staleWhileRevalidate,
		} {
			if v < -1 {
				t.Fatalf("%s parsed from %q as %v: negative", name, cc, v)
			}
		}
		if got := parseAge(h); got < 0 {
			t.Fatalf("Age %q parsed as %v", age, got)
		}
		reqD := absentDirectives()
		fr := p.decideFreshness(config.Expiration{}, &reqD, &d, h, requestedAt, receivedAt)
		if d.noStore && fr.store {
			t.Fatalf("Cache-Control %q has no-store but the response would be stored", cc)
		}
		if fr.store && d.maxAge > 0 && !d.noCache && !d.immutable && h.Get("Age") == "" && !fr.expiresAt.After(receivedAt) {
			t.Fatalf("max-age %v from %q expires at %v, received at %v", d.maxAge, cc, fr.expiresAt, receivedAt)
		}
	})
}

func FuzzHTTPDate(f *testing.F) {
	for _, s := range []string{
		"Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994",
		"Sun, 06 Nov 1994 08:49:37 UTC", "Sun, 6 Nov 1994 8:49:37 GMT", "0", "-1", "", "Thu, 01 Jan 1970 00:00:00 GMT",
		"Fri, 31 Dec 9999 23:59:59 GMT", "Mon, 29 Feb 2021 00:00:00 GMT",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		tm, ok := parseHTTPDate(v)
		if !ok {
			if !tm.IsZero() {
				t.Fatalf("invalid %q gave a time %v", v, tm)
			}
			return
		}
		// Strict parsing: an accepted date is exactly one of the formats,
		// so formatting it back gives what was read, in GMT.
		back, ok := parseHTTPDate(tm.Format(http.TimeFormat))
		if !ok || !back.Equal(tm) {
			t.Fatalf("%q parsed as %v, which does not round-trip (%v, %v)", v, tm, back, ok)
		}
		if _, off := tm.Zone(); off != 0 {
			t.Fatalf("%q parsed with a %d s offset", v, off)
		}
	})
}

// fuzzSecret is put into every credential slot of a fuzzed request; it must
// never come out of a redacted URL, header or body.
const fuzzSecret = "zz-fuzz-secret-zz"

func FuzzRequestKey(f *testing.F) {
	for _, s := range [][4]string{
		{"GET", "http://Example.COM:80/a/../b?z=1&a=2&api_key=x#frag", "", ""},
		{"POST", "https://user:pw@example.com/x?", "application/json", `{"b":1,"a":[1,2],"api_key":"k"}`},
		{"POST", "http://[::1]:8080/p%2Fq?%zz=1&&=", "application/x-www-form-urlencoded", "b=2&a=1&apikey=v&%"},
		{"PUT", "http://h/?a=1;b=2", "application/vnd.api+json; charset=utf-8", `[1, 2, {"x": 1e400}]`},
		{"get", "HTTP://H:443/%7e", "text/plain", "\x00\xff"},
	} {
		f.Add(s[0], s[1], s[2], s[3])
	}
	k := newKeyer(config.DefaultIgnoredParameters, false, []string{"Accept"})
	f.Fuzz(func(t *testing.T, method, rawURL, contentType, body string) {
		u, err := url.Parse(rawURL)
		if err != nil {
			return
		}
		req := &http.Request{Method: method, URL: u, Header: http.Header{
			"Content-Type":  {contentType},
			"Authorization": {"Bearer " + fuzzSecret},
			"X-Api-Key":     {fuzzSecret},
			"Accept":        {"text/html"},
		}}
		key := k.key(req, []byte(body))
		if len(key) != 32 || strings.Trim(key, "0123456789abcdef") != "" {
			t.Fatalf("key %q is not 32 hex digits", key)
		}
		if again := k.key(req.Clone(req.Context()), []byte(body)); again != key {
			t.Fatalf("the same request gave keys %s and %s", key, again)
		}
		// Changing only a credential never changes the key: credentials
		// are separated by the keyed hash, not by the key itself.
		other := req.Clone(req.Context())
		other.Header.Set("Authorization", "Bearer another")
		if k.key(other, []byte(body)) != key {
			t.Fatal("the Authorization header changed the key")
		}
		// Stored forms never hold a credential in the clear.
		q := u.Query()
		q.Set("api_key", fuzzSecret)
		su := *u
		su.RawQuery = q.Encode()
		if red := k.redactedURL(&su); strings.Contains(red, fuzzSecret) {
			t.Fatalf("redacted URL %q holds the secret", red)
		}
		for name, vs := range k.redactedHeader(req.Header) {
			if strings.Contains(strings.Join(vs, ","), fuzzSecret) {
				t.Fatalf("redacted header %s holds the secret", name)
			}
		}
		// The normalized URL is a fixed point: normalizing it again changes
		// nothing, so stored URLs and selectors compare equal.
		norm := k.redactedURL(u)
		if nu, err := url.Parse(norm); err == nil {
			if again := k.redactedURL(nu); again != norm {
				t.Fatalf("normalizing %q gave %q, then %q", rawURL, norm, again)
			}
		}
		// A JSON object's ignored field is redacted whatever else it holds
		// (an invalid body is not parsed: it only reaches the hashed key).
		if obj := []byte(`{"api_key":"` + fuzzSecret + `","v":` + body + `}`); strictJSON(obj) {
			red, found := k.normalizeBody("application/json", obj, true)
			if !found || bytes.Contains(red, []byte(fuzzSecret)) {
				t.Fatalf("ignored field not found (%v) or not redacted in %s", found, obj)
			}
		}
	})
}

// FuzzKeyFieldsDistinct: two requests that differ in any keyed field
// (method, Host, body, a matched header) never share a key, however the
// bytes are split between the fields.
func FuzzKeyFieldsDistinct(f *testing.F) {
	f.Add("POST", "", "p", "v", "POST", "", "p\nx-a:v", "")
	f.Add("GET", "a.example", "", "", "GET", "", "", "a.example")
	f.Add("POST", "", "ab", "", "POST", "", "a", "b")
	f.Add("PUT", "", "x", "", "PUTx", "", "", "")
	k := newKeyer(nil, false, []string{"X-A"})
	build := func(method, host, body, xa string) *http.Request {
		u, _ := url.Parse("http://example.com/p?q=1")
		req := &http.Request{Method: method, URL: u, Host: host, Header: http.Header{"Content-Type": {"text/plain"}}}
		if xa != "" {
			req.Header["X-A"] = []string{xa}
		}
		return req
	}
	f.Fuzz(func(t *testing.T, m1, h1, b1, x1, m2, h2, b2, x2 string) {
		r1, r2 := build(m1, h1, b1, x1), build(m2, h2, b2, x2)
		same := effectiveMethod(r1) == effectiveMethod(r2) && hostOverride(r1) == hostOverride(r2) && b1 == b2 && x1 == x2
		k1, k2 := k.key(r1, []byte(b1)), k.key(r2, []byte(b2))
		if same != (k1 == k2) {
			t.Fatalf("requests %q and %q: same fields %v, same key %v", []string{m1, h1, b1, x1}, []string{m2, h2, b2, x2}, same, k1 == k2)
		}
	})
}
