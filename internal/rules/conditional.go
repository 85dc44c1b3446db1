package rules

import "net/http"

// Conditional returns a copy of a request's header with If-None-Match and
// If-Modified-Since taken from a stored response's ETag and Last-Modified
// (RFC 9111 §4.3.1). ok is false when the stored response has no validator
// or the request carries conditions of its own (its 304 is then its own).
func Conditional(request, stored http.Header) (h http.Header, ok bool) {
	if request.Get("If-None-Match") != "" || request.Get("If-Modified-Since") != "" {
		return nil, false
	}
	etag, lastModified := stored.Get("ETag"), stored.Get("Last-Modified")
	if etag == "" && lastModified == "" {
		return nil, false
	}
	h = request.Clone()
	if h == nil {
		h = make(http.Header)
	}
	if etag != "" {
		h.Set("If-None-Match", etag)
	}
	if lastModified != "" {
		h.Set("If-Modified-Since", lastModified)
	}
	return h, true
}
