package rules

import (
	"net/url"
	"slices"
	"testing"
)

func TestInvalidationTargets(t *testing.T) {
	target, _ := url.Parse("https://api.example.com/v1/items/7?x=1")
	for _, tc := range []struct {
		name    string
		headers []string
		want    []string
	}{
		{"the request's own", nil, []string{"https://api.example.com/v1/items/7?x=1"}},
		{"relative Location and Content-Location", []string{"Location", "/v1/items", "Content-Location", "7/meta"},
			[]string{"https://api.example.com/v1/items/7?x=1", "https://api.example.com/v1/items", "https://api.example.com/v1/items/7/meta"}},
		{"another origin is left alone", []string{"Location", "https://other.example.com/v1/items", "Content-Location", "http://api.example.com/v1/items"},
			[]string{"https://api.example.com/v1/items/7?x=1"}},
		{"host case does not matter", []string{"Location", "https://API.example.com/a"}, []string{"https://api.example.com/v1/items/7?x=1", "https://API.example.com/a"}},
	} {
		got := InvalidationTargets(target, header(tc.headers...))
		var urls []string
		for _, u := range got {
			urls = append(urls, u.String())
		}
		if !slices.Equal(urls, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, urls, tc.want)
		}
	}
}
