package rules

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/reqcache/reqcache/config"
)

func TestURLRules(t *testing.T) {
	rs := CompileURLRules([]config.URLExpiration{
		{Pattern: "https://api.example.com/v1", ExpireAfter: config.After(time.Minute)},
		{Regex: `^http://cdn\.example\.com/v[0-9]+/`, ExpireAfter: config.After(time.Hour)},
		{Pattern: "*.example.com/static/*.css", ExpireAfter: config.NeverExpire},
		{Pattern: "*", ExpireAfter: config.DoNotCache},
	})
	for raw, want := range map[string]config.Expiration{
		"http://API.example.com/v1/items?id=1":   config.After(time.Minute), // scheme ignored, host lower-cased, * implied
		"http://cdn.example.com/v2/app.js":       config.After(time.Hour),
		"https://cdn.example.com/v2/app.js":      config.DoNotCache,  // the regex names the scheme
		"https://www.example.com/static/a/b.css": config.NeverExpire, // * crosses "/"
		"https://other.org/":                     config.DoNotCache,
	} {
		u, _ := url.Parse(raw)
		if got, ok := rs.Expiration(u); !ok || got != want {
			t.Errorf("%s: %v %v, want %v", raw, got, ok, want)
		}
	}
	if _, ok := URLRules(nil).Expiration(&url.URL{Host: "x"}); ok {
		t.Fatal("no rules matched")
	}
}

func TestConditional(t *testing.T) {
	stored := header("ETag", `"v1"`, "Last-Modified", "Mon, 02 Jan 2006 15:04:05 GMT")
	req := header("Accept", "text/plain")
	h, ok := Conditional(req, stored)
	if !ok || h.Get("If-None-Match") != `"v1"` || h.Get("If-Modified-Since") == "" || h.Get("Accept") != "text/plain" || req.Get("If-None-Match") != "" {
		t.Fatalf("Conditional = %v %v (request now %v)", h, ok, req)
	}
	if _, ok := Conditional(header("If-None-Match", `"mine"`), stored); ok {
		t.Fatal("a request with its own conditions made conditional again")
	}
	if _, ok := Conditional(nil, http.Header{}); ok {
		t.Fatal("conditional on a response without a validator")
	}
}
