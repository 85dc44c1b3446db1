package rules

import (
	"net/http"
	"net/url"
	"strings"
)

// IsUnsafe reports a method that is not safe (RFC 9110 §9.2.1): its
// success invalidates what is stored for its target.
func IsUnsafe(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return false
	}
	return true
}

// InvalidationTargets are the URIs a non-error response to an unsafe
// request invalidates (RFC 9111 §4.4): the request's own, and those its
// Location and Content-Location name when they share its origin.
func InvalidationTargets(target *url.URL, respHeader http.Header) []*url.URL {
	targets := []*url.URL{target}
	for _, h := range []string{"Location", "Content-Location"} {
		v := respHeader.Get(h)
		if v == "" {
			continue
		}
		u, err := target.Parse(v)
		if err != nil || !strings.EqualFold(u.Scheme, target.Scheme) || !strings.EqualFold(u.Host, target.Host) {
			continue
		}
		targets = append(targets, u)
	}
	return targets
}
