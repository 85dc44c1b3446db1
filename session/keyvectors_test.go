package session

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/reqcache/reqcache/config"
)

// keyVectors pin the keys of key format 2 (keyFormat). Keys persist in
// shared stores (MongoDB): a change to any of these is a change of format,
// which must bump keyFormat and say so in CHANGELOG.md, never happen by
// accident (a refactoring of the key code must leave them as they are).
var keyVectors = []struct {
	name, method, url, host, contentType, body string
	header                                     http.Header
	want, wantWithCredentials                  string
}{
	{name: "plain GET", method: "GET", url: "http://api.example.com/v1/items?id=42&page=1",
		want: "5a8e897ad88f2b157210fa54d1319383", wantWithCredentials: "5a8e897ad88f2b157210fa54d1319383"},
	{name: "normalized URL", method: "GET", url: "HTTP://API.example.com:80/v1/items?page=1&id=42#frag",
		want: "5a8e897ad88f2b157210fa54d1319383", wantWithCredentials: "5a8e897ad88f2b157210fa54d1319383"},
	{name: "ignored parameter", method: "GET", url: "https://api.example.com/v1?q=go&api_key=k1;access_token=k2",
		want: "b5f6b0ab612bca27210dbb2c188f1ed6", wantWithCredentials: "8aa0b553b901f546b903240f492f7d29"},
	{name: "Host override", method: "GET", url: "http://10.0.0.1/dashboard", host: "tenant-a.example",
		want: "3c94143cf34342b8365f4fe810945f6d", wantWithCredentials: "3c94143cf34342b8365f4fe810945f6d"},
	{name: "JSON body", method: "POST", url: "https://api.example.com/search", contentType: "application/json",
		body: `{"b":[1,2],"a":"x","api_key":"k"}`, want: "a251429cc26d15b5d6b2bd37dcf4d694", wantWithCredentials: "1144d23f92f34f14ec322b6289f8b202"},
	{name: "form body", method: "POST", url: "https://api.example.com/search", contentType: "application/x-www-form-urlencoded; charset=UTF-8",
		body: "b=2&a=1", want: "f0466cf4e97f27f12fc2296b2e8b7fa6", wantWithCredentials: "f0466cf4e97f27f12fc2296b2e8b7fa6"},
	{name: "raw body", method: "PUT", url: "https://api.example.com/blob", contentType: "application/octet-stream",
		body: "\x00\x01binary", want: "2294e3be5bbe2eaa652020144218592c", wantWithCredentials: "2294e3be5bbe2eaa652020144218592c"},
	{name: "matched header and credentials", method: "GET", url: "https://user:pw@api.example.com/me",
		header: http.Header{"Accept": {"application/json"}, "Authorization": {"Bearer t"}, "Cookie": {"sid=1"}},
		want:   "16b7ae171611c826292a49795dc2c171", wantWithCredentials: "f2c118b5fb76bf2bf5b568bc2b26e2c6"},
}

func TestKeyVectors(t *testing.T) {
	p, err := compile(SettingsFrom(func() *config.Config {
		c := config.Default()
		c.MatchHeaders = config.MatchHeaders{Names: []string{"Accept"}}
		return c
	}()))
	if err != nil {
		t.Fatal(err)
	}
	s := &Session{secret: []byte(strings.Repeat("k", 32))}
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
			key := p.keys.key(req, body)
			withCreds := s.keyFor(p, req, body)
			if key != v.want || withCreds != v.wantWithCredentials {
				t.Errorf("key %s, with credentials %s; pinned %s, %s", key, withCreds, v.want, v.wantWithCredentials)
			}
		})
	}
}
