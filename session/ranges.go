package session

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/reqcache/reqcache/stores"
)

// This file is range requests (RFC 9110 §14, RFC 9111 §3.3-3.4): a single
// byte range of a fresh, complete stored 200 is answered with a 206 from
// the cache. Anything else with a Range header goes to the origin
// untouched and is not stored, and never joins another request's flight:
// partial responses are not cached.

// byteRange parses a Range header holding one satisfiable byte range of a
// representation of size bytes. ok is false for anything else (several
// ranges, other units, unsatisfiable ranges).
func byteRange(v string, size int64) (start, end int64, ok bool) {
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

// servePartial answers a Range request from a complete stored response, or
// returns nil when it cannot.
func (s *Session) servePartial(x *exchange, e *stores.Entry, key string) *http.Response {
	if e.StatusCode != http.StatusOK || x.req.Header.Get("If-Range") != "" {
		return nil
	}
	start, end, ok := byteRange(x.req.Header.Get("Range"), int64(len(e.Body)))
	if !ok {
		return nil
	}
	full := e.Body
	e.Body = full[start : end+1]
	resp := s.serve(x, e, key, false, "")
	e.Body = full
	resp.StatusCode = http.StatusPartialContent
	resp.Status = statusLine(http.StatusPartialContent)
	resp.Header.Set("Content-Range", "bytes "+itoa(start)+"-"+itoa(end)+"/"+itoa(int64(len(full))))
	resp.Header.Set("Content-Length", itoa(end-start+1))
	return resp
}

// passRange forwards a Range request the cache does not answer.
func (s *Session) passRange(x *exchange) (*http.Response, error) {
	resp, err := s.upstream.RoundTrip(x.outgoing(x.req.Context()))
	if err != nil {
		return nil, err
	}
	info := Info{Key: x.key}
	setCacheStatus(resp.Header, cacheStatus(&info, "uri-miss", 0, time.Time{}, "range"))
	attachInfo(resp, x.req, info)
	return resp, nil
}
