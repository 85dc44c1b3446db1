package cachekey

import "testing"

// What a host filter (Cache.Responses, URLs, the debug page) selects.
func TestHostMatches(t *testing.T) {
	for _, c := range []struct {
		url, host string
		want      bool
	}{
		{"https://api.example.com/v1", "api.example.com", true},
		{"https://API.example.com:8443/v1", "api.example.com", true},
		{"https://api.example.com:8443/v1", "api.example.com:8443", true},
		{"https://api.example.com/v1", "api.example.com:8443", false},
		{"https://api.example.com.evil/v1", "api.example.com", false},
		{"http://[::1]:8080/x", "::1", true},
		{"http://[::1]:8080/x", "[::1]:8080", true},
		{"https://example.com?q=api.example.com", "api.example.com", false},
		{"not a url", "example.com", false},
	} {
		if got := HostMatches(c.url, c.host); got != c.want {
			t.Errorf("HostMatches(%q, %q) = %v, want %v", c.url, c.host, got, c.want)
		}
	}
}
