package rules

import (
	"net/http"
	"strconv"
	"strings"
)

// This file is the byte ranges of RFC 9110 §14 that a cache answers and
// keeps: one range of a request, the range a 206 holds, and the strong
// validator parts must share to be joined (RFC 9111 §3.4).

// ByteRange parses a Range header holding one satisfiable byte range of a
// representation of size bytes. ok is false for anything else (several
// ranges, other units, unsatisfiable ranges).
func ByteRange(v string, size int64) (start, end int64, ok bool) {
	spec, found := strings.CutPrefix(strings.TrimSpace(v), "bytes=")
	if !found || strings.Contains(spec, ",") || size == 0 {
		return 0, 0, false
	}
	first, last, found := strings.Cut(strings.TrimSpace(spec), "-")
	if !found {
		return 0, 0, false
	}
	if first == "" { // suffix: the last N bytes
		n, err := strconv.ParseInt(last, 10, 64)
		if err != nil || n <= 0 {
			return 0, 0, false
		}
		return max(0, size-n), size - 1, true
	}
	start, err := strconv.ParseInt(first, 10, 64)
	if err != nil || start < 0 || start >= size {
		return 0, 0, false
	}
	end = size - 1
	if last != "" {
		e, err := strconv.ParseInt(last, 10, 64)
		if err != nil || e < start {
			return 0, 0, false
		}
		end = min(e, size-1)
	}
	return start, end, true
}

// ContentRange parses a 206's Content-Range "bytes first-last/complete"
// with the complete length known.
func ContentRange(v string) (first, last, complete int64, ok bool) {
	spec, found := strings.CutPrefix(v, "bytes ")
	if !found {
		return 0, 0, 0, false
	}
	rng, total, found := strings.Cut(spec, "/")
	a, b, found2 := strings.Cut(rng, "-")
	if !found || !found2 {
		return 0, 0, 0, false
	}
	var err1, err2, err3 error
	first, err1 = strconv.ParseInt(a, 10, 64)
	last, err2 = strconv.ParseInt(b, 10, 64)
	complete, err3 = strconv.ParseInt(total, 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || first < 0 || last < first || last >= complete {
		return 0, 0, 0, false
	}
	return first, last, complete, true
}

// StrongETag returns h's ETag when it is a strong validator, the only kind
// that lets parts be joined (RFC 9110 §8.8.1).
func StrongETag(h http.Header) (string, bool) {
	tag := h.Get("ETag")
	if len(tag) < 2 || tag[0] != '"' || strings.HasPrefix(tag, "W/") {
		return "", false
	}
	return tag, true
}
