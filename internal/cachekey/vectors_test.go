package cachekey

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/reqcache/reqcache/config"
)

// keyVectors pin the keys of key format 2 (keyFormat), as the session
// computed them before this package existed. Keys persist in shared stores
// (MongoDB): a change to any of these is a change of format, which must
// bump keyFormat and say so in CHANGELOG.md, never happen by accident (a
// refactoring of the key code must leave them as they are).
var keyVectors = []struct {
	name, method, url, host, contentType, body string
	header                                     http.Header
	want, wantWithCredentials                  string
}{
	{name: "plain GET", method: "GET", url: "http://api.example.com/v1/items?id=42&page=1",
		want: "d1f45d2ed90bf8e14055deaa8aee2fd7", wantWithCredentials: "d1f45d2ed90bf8e14055deaa8aee2fd7"},
	{name: "normalized URL", method: "GET", url: "HTTP://API.example.com:80/v1/items?page=1&id=42#frag",
		want: "d1f45d2ed90bf8e14055deaa8aee2fd7", wantWithCredentials: "d1f45d2ed90bf8e14055deaa8aee2fd7"},
	{name: "ignored parameter", method: "GET", url: "https://api.example.com/v1?q=go&api_key=k1;access_token=k2",
		want: "13598ca6e7f7f6062879dd3b8e2accd7", wantWithCredentials: "172fe79bfcd2a92e5eaaf922496cc6a1"},
	{name: "Host override", method: "GET", url: "http://10.0.0.1/dashboard", host: "tenant-a.example",
		want: "3f9caa7e3af7f092e0a354cf21df642a", wantWithCredentials: "3f9caa7e3af7f092e0a354cf21df642a"},
	{name: "JSON body", method: "POST", url: "https://api.example.com/search", contentType: "application/json",
		body: `{"b":[1,2],"a":"x","api_key":"k"}`, want: "6a19a02a7e9e8cf102c96f8eb56418a7", wantWithCredentials: "48e82f817ba04101dfef57e4c47fd524"},
	{name: "form body", method: "POST", url: "https://api.example.com/search", contentType: "application/x-www-form-urlencoded; charset=UTF-8",
		body: "b=2&a=1", want: "73e7cd71212f11d9fbcabd8d2b389ff9", wantWithCredentials: "73e7cd71212f11d9fbcabd8d2b389ff9"},
	{name: "raw body", method: "PUT", url: "https://api.example.com/blob", contentType: "application/octet-stream",
		body: "\x00\x01binary", want: "588cdcc5a1757a62ace7b8d8747a6dcc", wantWithCredentials: "588cdcc5a1757a62ace7b8d8747a6dcc"},
	{name: "multipart body", method: "POST", url: "https://api.example.com/upload", contentType: "multipart/form-data; boundary=b1",
		body: "--b1\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nreport\r\n--b1\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\nContent-Type: text/csv\r\n\r\nx,y\n1,2\r\n--b1--\r\n",
		want: "e090a62b7148d2cf6f5046918519a7b2", wantWithCredentials: "e090a62b7148d2cf6f5046918519a7b2"},
	{name: "matched header and credentials", method: "GET", url: "https://user:pw@api.example.com/me",
		header: http.Header{"Accept": {"application/json"}, "Authorization": {"Bearer t"}, "Cookie": {"sid=1"}},
		want:   "d55a0c30761182f1dd3994243e6e6d6d", wantWithCredentials: "9ec674694018b37da8744560f01b9a07"},
}

func TestKeyVectors(t *testing.T) {
	k := New(config.DefaultIgnoredParameters(), false, []string{"Accept"})
	secret := []byte(strings.Repeat("k", 32))
	for _, v := range keyVectors {
		t.Run(v.name, func(t *testing.T) {
			u, err := url.Parse(v.url)
			if err != nil {
				t.Fatal(err)
			}
			req := &http.Request{Method: v.method, URL: u, Host: v.host, Header: v.header.Clone()}
			if req.Header == nil {
				req.Header = http.Header{}
			}
			if v.contentType != "" {
				req.Header.Set("Content-Type", v.contentType)
			}
			var body []byte
			if v.body != "" {
				body = []byte(v.body)
			}
			key := k.Key(req, body)
			withCreds := k.Primary(req, body, secret)
			if key != v.want || withCreds != v.wantWithCredentials {
				t.Errorf("key %s, with credentials %s; pinned %s, %s", key, withCreds, v.want, v.wantWithCredentials)
			}
		})
	}
}

// Two mime/multipart bodies of the same parts differ only in their random
// boundary: one key. Any difference in a part's name, filename, type or
// contents is another key; a body that does not parse is keyed by its bytes.
func TestMultipartKeyedByParts(t *testing.T) {
	k := New(config.DefaultIgnoredParameters(), false, nil)
	type part struct{ name, filename, contentType, contents string }
	key := func(boundary string, parts ...part) string {
		t.Helper()
		var b strings.Builder
		for _, p := range parts {
			fmt.Fprintf(&b, "--%s\r\nContent-Disposition: form-data; name=%q", boundary, p.name)
			if p.filename != "" {
				fmt.Fprintf(&b, "; filename=%q", p.filename)
			}
			b.WriteString("\r\n")
			if p.contentType != "" {
				fmt.Fprintf(&b, "Content-Type: %s\r\n", p.contentType)
			}
			fmt.Fprintf(&b, "\r\n%s\r\n", p.contents)
		}
		fmt.Fprintf(&b, "--%s--\r\n", boundary)
		u, _ := url.Parse("https://api.example.com/upload")
		req := &http.Request{Method: "POST", URL: u, Header: http.Header{"Content-Type": {"multipart/form-data; boundary=" + boundary}}}
		return k.Key(req, []byte(b.String()))
	}
	title := part{"title", "", "", "report"}
	file := part{"file", "a.csv", "text/csv", "x,y\n1,2"}
	base := key("7f3a9c", title, file)
	if got := key("0b1e44d2", title, file); got != base {
		t.Fatalf("another boundary, the same parts: %s, want %s", got, base)
	}
	for name, parts := range map[string][]part{
		"contents":     {title, {"file", "a.csv", "text/csv", "x,y\n1,3"}},
		"filename":     {title, {"file", "b.csv", "text/csv", "x,y\n1,2"}},
		"content type": {title, {"file", "a.csv", "text/plain", "x,y\n1,2"}},
		"field name":   {{"name", "", "", "report"}, file},
		"order":        {file, title},
		"a part less":  {title},
	} {
		if key("7f3a9c", parts...) == base {
			t.Errorf("a different %s, the same key", name)
		}
	}
	u, _ := url.Parse("https://api.example.com/upload")
	broken := func(body string) string {
		req := &http.Request{Method: "POST", URL: u, Header: http.Header{"Content-Type": {"multipart/form-data; boundary=zz"}}}
		return k.Key(req, []byte(body))
	}
	if broken("not multipart at all") == broken("not multipart at all!") {
		t.Fatal("bodies that do not parse as multipart share a key")
	}
}
