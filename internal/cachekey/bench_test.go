package cachekey

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/reqcache/reqcache/config"
)

// BenchmarkKey is the key of a request with 10 query parameters and a
// 2 KiB JSON body (the key benchmark), and of a plain GET, from the
// memo (memo.go) and computed.
func BenchmarkKey(b *testing.B) {
	k := New(config.DefaultIgnoredParameters(), false, nil)
	secret := []byte("0123456789abcdef0123456789abcdef")
	for _, tc := range []struct {
		name, url, ct string
		body          []byte
	}{
		{"get-2-params", "http://api.example.com/v1/items?id=42&page=1", "", nil},
		{"get-no-query", "http://api.example.com/v1/big", "", nil},
		{"post-10-params-2KiB-json", "http://api.example.com/v1/search?q=go&lang=en&page=3&per_page=50&sort=stars&order=desc&from=2020&to=2026&fork=false&api_key=secret", "application/json", jsonBody2K()},
	} {
		u, _ := url.Parse(tc.url)
		req := &http.Request{Method: http.MethodPost, URL: u, Header: http.Header{"Content-Type": {tc.ct}}}
		if tc.body == nil {
			req.Method = http.MethodGet
			req.Header = http.Header{}
		}
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				k.Primary(req, tc.body, secret)
			}
		})
		if tc.body == nil { // a GET asked for again is answered by the memo: the same key computed
			b.Run(tc.name+"-computed", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					key, _, _, queryIgnored := k.computeParts(req, nil, false)
					k.separate(key, req, nil, secret, queryIgnored, false)
				}
			})
		}
	}
}

func jsonBody2K() []byte {
	b := []byte(`{"filters":[`)
	for i := 0; len(b) < 2000; i++ {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"field":"name","op":"contains","value":"reqcache"}`...)
	}
	return append(b, `],"api_key":"k"}`...)
}
