package cachekey

import (
	"bytes"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/reqcache/reqcache/config"
)

// The fuzz targets run their seed corpus (testdata/fuzz) with every go
// test; `go test -fuzz=FuzzX ./internal/cachekey` explores further.

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
	k := New(config.DefaultIgnoredParameters(), false, []string{"Accept"})
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
		key := k.Key(req, []byte(body))
		if len(key) != 32 || strings.Trim(key, "0123456789abcdef") != "" {
			t.Fatalf("key %q is not 32 hex digits", key)
		}
		if again := k.Key(req.Clone(req.Context()), []byte(body)); again != key {
			t.Fatalf("the same request gave keys %s and %s", key, again)
		}
		// Changing only a credential never changes the key: credentials
		// are separated by the keyed hash, not by the key itself.
		other := req.Clone(req.Context())
		other.Header.Set("Authorization", "Bearer another")
		if k.Key(other, []byte(body)) != key {
			t.Fatal("the Authorization header changed the key")
		}
		// Stored forms never hold a credential in the clear.
		q := u.Query()
		q.Set("api_key", fuzzSecret)
		su := *u
		su.RawQuery = q.Encode()
		if red := k.RedactedURL(&su); strings.Contains(red, fuzzSecret) {
			t.Fatalf("redacted URL %q holds the secret", red)
		}
		for name, vs := range k.RedactedHeader(req.Header) {
			if strings.Contains(strings.Join(vs, ","), fuzzSecret) {
				t.Fatalf("redacted header %s holds the secret", name)
			}
		}
		// The normalized URL is a fixed point: normalizing it again changes
		// nothing, so stored URLs and selectors compare equal.
		norm := k.RedactedURL(u)
		if nu, err := url.Parse(norm); err == nil {
			if again := k.RedactedURL(nu); again != norm {
				t.Fatalf("normalizing %q gave %q, then %q", rawURL, norm, again)
			}
		}
		// A JSON object's ignored field is redacted whatever else it holds
		// (an invalid body is not parsed: it only reaches the hashed key).
		if obj := []byte(`{"api_key":"` + fuzzSecret + `","v":` + body + `}`); strictJSON(obj) {
			red, found := k.NormalizeBody("application/json", obj, true)
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
	k := New(nil, false, []string{"X-A"})
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
		same := Method(r1) == Method(r2) && hostOverride(r1) == hostOverride(r2) && b1 == b2 && x1 == x2
		k1, k2 := k.Key(r1, []byte(b1)), k.Key(r2, []byte(b2))
		if same != (k1 == k2) {
			t.Fatalf("requests %q and %q: same fields %v, same key %v", []string{m1, h1, b1, x1}, []string{m2, h2, b2, x2}, same, k1 == k2)
		}
	})
}
