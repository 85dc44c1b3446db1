package cachekey

import (
	"net/http"
	"testing"
)

func TestAcceptsCoding(t *testing.T) {
	for _, c := range []struct {
		coding string // the stored response's Content-Encoding ("": none)
		accept []string
		want   bool
	}{
		{"", nil, true},
		{"identity", nil, true},
		{"gzip", nil, false}, // http.Get: the Transport would have decompressed
		{"gzip", []string{"gzip"}, true},
		{"GZIP", []string{"gzip, deflate"}, true},
		{"gzip", []string{"deflate", "br, gzip;q=0.5"}, true},
		{"gzip", []string{"x-gzip"}, true},
		{"x-gzip", []string{"gzip"}, true},
		{"gzip", []string{"gzip;q=0"}, false},
		{"gzip", []string{"gzip; q=0.000"}, false},
		{"gzip", []string{"br"}, false},
		{"gzip", []string{"identity"}, false},
		{"gzip", []string{"*"}, true},
		{"gzip", []string{"*;q=0"}, false},
		{"gzip", []string{"*, gzip;q=0"}, false},
		{"gzip", []string{"gzip;level=9"}, false}, // does not parse: accepts nothing
		{"gzip, br", []string{"gzip"}, false},
		{"gzip, br", []string{"br, gzip"}, true},
		{"br", []string{""}, false},
	} {
		resp := http.Header{}
		if c.coding != "" {
			resp.Set("Content-Encoding", c.coding)
		}
		req := http.Header{}
		for _, a := range c.accept {
			req.Add("Accept-Encoding", a)
		}
		if got := AcceptsCoding(resp, req); got != c.want {
			t.Errorf("Content-Encoding %q, Accept-Encoding %q: %v, want %v", c.coding, c.accept, got, c.want)
		}
	}
}
