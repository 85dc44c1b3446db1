package cachekey

import (
	"net/http"
	"strings"
)

// AcceptsCoding reports whether a request with header req takes a stored
// response with header resp by its content coding (RFC 9110 §12.5.3): a
// response without one always; one with a coding only when the request's
// Accept-Encoding lists it, or "*", with a weight above zero.
//
// A request without Accept-Encoding takes none. RFC 9110 would let it take
// any, but in Go it is http.Transport that asks for gzip and decompresses
// what arrives, so a caller that did not ask reads the bytes as they are:
// a body stored compressed for a caller that asked (an SDK that sends
// Accept-Encoding: gzip itself) would reach an http.Get compressed, when
// the origin compressed it without saying Vary: Accept-Encoding.
func AcceptsCoding(resp, req http.Header) bool {
	ce := resp["Content-Encoding"]
	if len(ce) == 0 {
		return true // the usual stored response: one map lookup
	}
	for _, v := range ce {
		for v != "" {
			var c string
			c, v, _ = strings.Cut(v, ",")
			c = codingName(c)
			if c != "" && c != "identity" && !accepts(req["Accept-Encoding"], c) {
				return false
			}
		}
	}
	return true
}

// accepts reports whether Accept-Encoding values accept coding (lower
// case): listed, or covered by "*", with a weight above zero. A member that
// does not parse accepts nothing.
func accepts(accept []string, coding string) bool {
	star := 0
	for _, v := range accept {
		for v != "" {
			var member string
			member, v, _ = strings.Cut(v, ",")
			token, w, ok := weightedMember(member)
			if !ok {
				continue
			}
			switch codingName(token) {
			case coding:
				return w > 0
			case "*":
				star = w
			}
		}
	}
	return star > 0
}

// codingName is a content coding's name in one form: trimmed, lower case,
// and "x-gzip" / "x-compress" as the codings they name (RFC 9110 §8.4.1).
func codingName(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	switch s {
	case "x-gzip":
		return "gzip"
	case "x-compress":
		return "compress"
	}
	return s
}
