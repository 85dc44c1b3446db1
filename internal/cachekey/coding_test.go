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
		// Explicit exclusions (issue 37, finding 6).
		{"gzip", []string{"identity"}, false},
		{"gzip", []string{"identity;q=1"}, false},
		{"gzip", []string{"gzip;q=0"}, false},
		{"gzip", []string{"GZIP;q=0.000, br"}, false},
		{"gzip", []string{"*;q=0"}, false},
		{"gzip", []string{"identity", "*;q=0"}, false},
		{"gzip", []string{"*;q=0, gzip"}, true},
		{"gzip", []string{"br, identity"}, true},
		{"gzip", []string{"gzip;q=0.5"}, true},
		{"br", []string{"gzip;q=0"}, true},
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
