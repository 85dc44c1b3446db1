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
		{"Identity, ", nil, true},
		{"gzip", nil, false}, // http.Get: the Transport would have decompressed
		{"br", nil, false},
		{"identity, gzip", nil, false},
		{"gzip", []string{"gzip"}, true},
		{"gzip", []string{"br"}, true}, // the caller decodes; Vary is the origin's to send
		{"gzip", []string{"identity"}, true},
		{"gzip", []string{""}, false}, // empty: the Transport asks for gzip itself, as with none
		{"", []string{"gzip"}, true},
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
