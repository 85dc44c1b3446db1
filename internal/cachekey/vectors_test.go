package cachekey

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/reqcache/reqcache/config"
)

// keyVectors pin the keys of key format 3 (keyFormat). Format 3 told a
// multipart body's parts from its raw bytes (issue 37: a raw body could
// equal another body's parts). Keys persist in shared stores
// (MongoDB): a change to any of these is a change of format, which must
// bump keyFormat and say so in CHANGELOG.md, never happen by accident (a
// refactoring of the key code must leave them as they are).
var keyVectors = []struct {
	name, method, url, host, contentType, body string
	header                                     http.Header
	want, wantWithCredentials                  string
}{
	{name: "plain GET", method: "GET", url: "http://api.example.com/v1/items?id=42&page=1",
		want: "130a268921745cecfc0ce50004c260f8", wantWithCredentials: "130a268921745cecfc0ce50004c260f8"},
	{name: "normalized URL", method: "GET", url: "HTTP://API.example.com:80/v1/items?page=1&id=42#frag",
		want: "130a268921745cecfc0ce50004c260f8", wantWithCredentials: "130a268921745cecfc0ce50004c260f8"},
	{name: "ignored parameter", method: "GET", url: "https://api.example.com/v1?q=go&api_key=k1;access_token=k2",
		want: "dc221a139cb8da089da37adcdffe9967", wantWithCredentials: "5cad0e4462af1b7b5649c8e912c9513f"},
	{name: "Azure SAS signature", method: "GET", url: "https://acct.blob.core.windows.net/c/b.json?sv=2025-11-05&sr=b&sp=r&se=2026-12-08T10%3A00%3A00Z&sig=SIG%3D",
		want: "f538fd283b592488c750bbff26fee009", wantWithCredentials: "59384f5acef223887190c30d8cdc6cfe"},
	{name: "Google API key", method: "GET", url: "https://www.googleapis.com/books/v1/volumes/v1?alt=json&key=AIzaSyA1234567890abcdefghijklmnopqrstuv",
		want: "d4f0badf1a8711359095b831cfed6126", wantWithCredentials: "20d77f1bf4b684ce7a7860dcb4cc9a02"},
	{name: "Host override", method: "GET", url: "http://10.0.0.1/dashboard", host: "tenant-a.example",
		want: "b32368182ceadab47d76b6b9565aa852", wantWithCredentials: "b32368182ceadab47d76b6b9565aa852"},
	{name: "JSON body", method: "POST", url: "https://api.example.com/search", contentType: "application/json",
		body: `{"b":[1,2],"a":"x","api_key":"k"}`, want: "bbf4edde484f2f7118baf058523a7885", wantWithCredentials: "72eb81facfb950b1e98f64a5bb5c95b4"},
	{name: "form body", method: "POST", url: "https://api.example.com/search", contentType: "application/x-www-form-urlencoded; charset=UTF-8",
		body: "b=2&a=1", want: "d5d0864f72e06e473357e87a9ea3515f", wantWithCredentials: "d5d0864f72e06e473357e87a9ea3515f"},
	{name: "raw body", method: "PUT", url: "https://api.example.com/blob", contentType: "application/octet-stream",
		body: "\x00\x01binary", want: "fe9b050eb0725de76cf1832aca6a0576", wantWithCredentials: "fe9b050eb0725de76cf1832aca6a0576"},
	{name: "multipart body", method: "POST", url: "https://api.example.com/upload", contentType: "multipart/form-data; boundary=b1",
		body: "--b1\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nreport\r\n--b1\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\nContent-Type: text/csv\r\n\r\nx,y\n1,2\r\n--b1--\r\n",
		want: "a83ddfe1004bbdb1b760e167de4a47cd", wantWithCredentials: "a83ddfe1004bbdb1b760e167de4a47cd"},
	{name: "matched header and credentials", method: "GET", url: "https://user:pw@api.example.com/me",
		header: http.Header{"Accept": {"application/json"}, "Authorization": {"Bearer t"}, "Cookie": {"sid=1"}},
		want:   "827e1a83f0a78b990185a3d263e8005a", wantWithCredentials: "f88523ba5d6cbcae49fee659aed758d1"},
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

// A multipart body that does not parse with its boundary is keyed by its
// raw bytes, and one that does by its parts: the two never meet, even
// when the raw bytes are exactly another body's parts (issue 37, finding 2).
func TestMultipartRawBodyNeverTakesAParsedBodysKey(t *testing.T) {
	k := New(config.DefaultIgnoredParameters(), false, nil)
	u, _ := url.Parse("https://api.example.com/upload")
	parsed := "--b1\r\nContent-Disposition: form-data; name=\"q\"\r\n\r\nalice's query\r\n--b1--\r\n"
	parts, _, ok := k.multipartParts([]byte(parsed), "b1")
	if !ok {
		t.Fatal("the body does not parse")
	}
	req := func(boundary string) *http.Request {
		return &http.Request{Method: "POST", URL: u, Header: http.Header{"Content-Type": {"multipart/form-data; boundary=" + boundary}}}
	}
	// The raw body does not parse with its boundary "zz".
	if _, _, ok := k.multipartParts(parts, "zz"); ok {
		t.Fatal("the raw body parses")
	}
	if a, b := k.Key(req("b1"), []byte(parsed)), k.Key(req("zz"), parts); a == b {
		t.Fatalf("a raw body equal to another body's parts has its key %s", a)
	}
}

// A multipart form field named by an ignored parameter is a credential,
// as in a urlencoded form; a body that does not parse may hold one.
func TestMultipartCredentials(t *testing.T) {
	k := New(config.DefaultIgnoredParameters(), false, nil)
	ct := "multipart/form-data; boundary=b1"
	if !k.BodyMayHoldCredentials(ct) {
		t.Fatal("a multipart body is not known to hold credentials")
	}
	for _, tc := range []struct {
		body string
		want bool
	}{
		{"--b1\r\nContent-Disposition: form-data; name=\"access_token\"\r\n\r\nsecret\r\n--b1--\r\n", true},
		{"--b1\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nreport\r\n--b1--\r\n", false},
		{"not multipart at all", true},
	} {
		if _, found := k.NormalizeBody(ct, []byte(tc.body), false); found != tc.want {
			t.Errorf("%q: credentials found %v, want %v", tc.body, found, tc.want)
		}
	}
}
