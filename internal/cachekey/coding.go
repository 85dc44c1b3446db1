package cachekey

import (
	"net/http"
	"strings"
)

// AcceptsCoding reports whether a request with header req may be answered
// by a stored response with header resp, by its content coding.
//
// A request without Accept-Encoding takes only a response without a
// coding (or "identity"). RFC 9110 would let it take any, but in Go it is
// http.Transport that asks for gzip and decompresses what arrives, below
// the caller: an http.Get never sees gzip bytes, and must not from the
// cache either — which it would when an origin compresses by
// Accept-Encoding without saying Vary, and another caller of the program
// (an SDK that sends Accept-Encoding: gzip itself) stored a compressed
// body first.
//
// A request with Accept-Encoding takes any coding it does not exclude: its
// caller decodes, and which codings may answer it is for the origin's Vary
// to say (RFC 9111 §4.1; cache-tests' headers-store-Content-Encoding
// requires a stored coding to be served to a client that did not list
// it). It excludes a coding by giving it q=0, by "*;q=0" without listing
// it, or by asking for "identity" alone (RFC 9110 §12.5.3).
func AcceptsCoding(resp, req http.Header) bool {
	ce := resp["Content-Encoding"]
	if len(ce) == 0 {
		return true // the usual stored response: one map lookup
	}
	ae := req["Accept-Encoding"]
	coded := len(ae) > 0 && ae[0] != "" // (an empty value is absent to the Transport: it asks for gzip itself)
	for _, v := range ce {
		for v != "" {
			var c string
			c, v, _ = strings.Cut(v, ",")
			c = strings.ToLower(strings.TrimSpace(c))
			if c == "" || c == "identity" {
				continue
			}
			if !coded || excludes(ae, c) {
				return false
			}
		}
	}
	return true
}

// excludes reports whether an Accept-Encoding value excludes coding: it
// gives it q=0, or gives "*" q=0 without listing it, or lists nothing but
// identity.
func excludes(acceptEncoding []string, coding string) bool {
	listed, star, starZero, onlyIdentity := false, false, false, true
	for _, m := range SplitList(strings.Join(acceptEncoding, ",")) {
		token, weight, ok := weightedMember(m)
		if !ok {
			continue
		}
		switch token {
		case coding:
			if weight == 0 {
				return true
			}
			listed = true
		case "*":
			star, starZero = true, weight == 0
		}
		onlyIdentity = onlyIdentity && token == "identity"
	}
	return !listed && (star && starZero || !star && onlyIdentity)
}
