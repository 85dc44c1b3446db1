package session

import (
	"context"
	"net/http"
	"time"

	"github.com/reqcache/reqcache/internal/cachestatus"
	"github.com/reqcache/reqcache/internal/rules"
	"github.com/reqcache/reqcache/internal/streambody"
	"github.com/reqcache/reqcache/internal/urlindex"
	"github.com/reqcache/reqcache/stores"
)

// This file is range requests (RFC 9110 §14, RFC 9111 §3.3-3.4). A single
// byte range is answered from the cache with a 206 when a fresh stored
// response covers it: the complete 200, or else a stored part. Other range
// requests go to the origin (never joining another request's flight), and
// a 206 they bring back is stored as the URL's part when it has a strong
// validator: one part per URL, under urlindex.Part, joined with the next part of
// the same representation (same strong ETag and length) that overlaps or
// touches it, and stored as the complete 200 once the parts cover it.

// requestedRange is the range a request asks for, "" for none: its Range,
// or Azure Storage's x-ms-range, which its SDK sends instead (and which
// wins when both are sent, as the service has it). A request with either
// is a range request: never answered with a whole body (issue 38).
func requestedRange(h http.Header) string {
	if v := h["X-Ms-Range"]; len(v) > 0 {
		return v[0]
	}
	if v := h["Range"]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// isRangeRequest reports a request that asks for part of a representation.
func isRangeRequest(h http.Header) bool { return len(h["Range"]) > 0 || len(h["X-Ms-Range"]) > 0 }

// rangeRequest answers a request with a Range header: from a fresh
// complete entry (servePartial), or from the URL's stored part, else from
// the origin — or with the 504 when nothing may reach it.
func (s *Session) rangeRequest(x *exchange, f found, d rules.Decision) (*http.Response, error) {
	if d.Action == rules.Serve && f.e != nil {
		if resp := s.servePartial(x, f, d.At); resp != nil {
			return resp, nil
		}
	}
	if resp := s.serveStoredPart(x); resp != nil {
		return resp, nil
	}
	if d.Action == rules.GatewayTimeout || x.rq.OnlyIfCached || x.rq.Directives.OnlyIfCached {
		return s.gatewayTimeout(x), nil
	}
	return s.passRange(x, f)
}

// servePartial answers a Range request from the complete stored response f
// found, as decided at at, or returns nil when it cannot.
func (s *Session) servePartial(x *exchange, f found, at time.Time) *http.Response {
	e := f.e
	if e.StatusCode != http.StatusOK || x.req.Header.Get("If-Range") != "" {
		return nil
	}
	start, end, ok := rules.ByteRange(requestedRange(x.req.Header), int64(len(e.Body)))
	if !ok {
		return nil
	}
	part := *e // the header maps stay the store's: serve copies them when lent
	part.Body = e.Body[start : end+1]
	return partial(s.serve(x, &part, f.key, f.lent, answered{at: at}), start, end, int64(len(e.Body)))
}

// partial makes an answer of a part a 206 of the range first-last of a
// representation of complete bytes.
func partial(resp *http.Response, first, last, complete int64) *http.Response {
	resp.StatusCode = http.StatusPartialContent
	resp.Status = statusLine(http.StatusPartialContent)
	resp.Header.Set("Content-Range", "bytes "+itoa(first)+"-"+itoa(last)+"/"+itoa(complete))
	resp.Header.Set("Content-Length", itoa(last-first+1))
	return resp
}

// passRange forwards a Range request the cache does not answer, keeping a
// 206, or a complete 200, that may be stored.
func (s *Session) passRange(x *exchange, f found) (*http.Response, error) {
	requestedAt := s.now()
	resp, err := send(x.up, x.outgoing(x.req.Context()))
	if err != nil {
		return nil, err
	}
	receivedAt := s.now()
	switch {
	case resp.StatusCode == http.StatusPartialContent:
		if out := s.keepPart(x, f, resp, requestedAt, receivedAt); out != nil {
			return out, nil
		}
	case resp.StatusCode == http.StatusOK && x.req.Method == http.MethodGet:
		// The origin sent the whole representation (it ignores Range, or
		// If-Range failed): a response like any miss's, stored as one.
		res := s.receive(x.req.Context(), x, f, resp, cachestatus.FwdURIMiss, requestedAt, receivedAt)
		return s.respondNew(x, res, res.first, false, true, time.Time{}), nil
	}
	annotate(resp, x.req, Info{Key: x.key}, cachestatus.Status{Fwd: cachestatus.FwdURIMiss, Detail: cachestatus.DetailRange})
	return resp, nil
}

// serveStoredPart answers a single-range request from the URL's stored
// part when the one reuse decision serves it and it covers the range, or
// returns nil.
func (s *Session) serveStoredPart(x *exchange) *http.Response {
	if x.req.Header.Get("If-Range") != "" {
		return nil
	}
	key := urlindex.Part(x.key)
	e, err := s.reads.Get(x.req.Context(), key)
	if err != nil {
		return nil
	}
	first, last, complete, ok := rules.ContentRange(e.Header.Get("Content-Range"))
	if !ok || int64(len(e.Body)) != last-first+1 || !x.selects(e, false) {
		return nil
	}
	d := s.decide(x, e, false)
	if d.Action != rules.Serve {
		return nil
	}
	start, end, ok := rules.ByteRange(requestedRange(x.req.Header), complete)
	if !ok || start < first || end > last {
		return nil
	}
	e.Body = e.Body[start-first : end-first+1]
	e.StatusCode = http.StatusPartialContent
	return partial(s.serve(x, e, key, false, answered{at: d.At}), start, end, complete)
}

// keepPart streams a 206 to the caller while keeping it as the URL's
// part, or returns nil when it may not be kept: no strong validator, not
// one known range of a representation of known length that fits
// max_body_bytes, or a response admit refuses (as a 200 would be).
func (s *Session) keepPart(x *exchange, f found, resp *http.Response, requestedAt, receivedAt time.Time) *http.Response {
	if x.req.Method != http.MethodGet {
		return nil
	}
	if _, ok := rules.StrongETag(resp.Header); !ok {
		return nil
	}
	first, last, complete, ok := rules.ContentRange(resp.Header.Get("Content-Range"))
	if !ok || complete > x.p.MaxBodyBytes || resp.ContentLength >= 0 && resp.ContentLength != last-first+1 {
		return nil
	}
	a := s.admit(x, http.StatusOK, resp.Header, requestedAt, receivedAt)
	if a.refused != "" || len(a.names) > 0 {
		return nil
	}
	part := s.entryFor(x, resp.StatusCode, resp.Header, a, requestedAt, receivedAt)
	part.Key = urlindex.Part(x.key)
	part.Header = part.Header.Clone() // joinPart sets its range: not the caller's map
	xh := x.onHeap()                  // the body ends after this call returns
	finish := func(body []byte) bool {
		if int64(len(body)) != last-first+1 {
			return false // the body disagrees with its Content-Range
		}
		part.Body = body
		return s.joinPart(detached(xh.req.Context()), xh, f, a, part, resp)
	}
	res := &newResponse{status: resp.StatusCode, header: resp.Header, fwd: cachestatus.FwdURIMiss, detail: cachestatus.DetailRange, contentLength: resp.ContentLength,
		info: Info{Key: part.Key, CreatedAt: part.CreatedAt, Expires: part.ExpiresAt}}
	res.streamed, res.first = streambody.New(resp.Body, resp.ContentLength, x.p.MaxBodyBytes, streambody.Funcs{OnFinish: finish, OnBackground: s.completeInBackground})
	return s.respondNew(x, res, res.first, false, true, time.Time{})
}

// joinPart stores part, joined with the stored part of the same
// representation when they overlap or touch; parts that cover the whole
// representation are stored as its complete 200 instead.
func (s *Session) joinPart(ctx context.Context, x *exchange, f found, a admission, part *stores.Entry, resp *http.Response) bool {
	first, last, complete, _ := rules.ContentRange(part.Header.Get("Content-Range"))
	tag, _ := rules.StrongETag(part.Header)
	if old, err := s.reads.Get(ctx, part.Key); err == nil {
		of, ol, oc, ok := rules.ContentRange(old.Header.Get("Content-Range"))
		oldTag, _ := rules.StrongETag(old.Header)
		if ok && oc == complete && oldTag == tag && int64(len(old.Body)) == ol-of+1 && of <= last+1 && first <= ol+1 {
			lo, hi := min(first, of), max(last, ol)
			joined := make([]byte, hi-lo+1)
			copy(joined[of-lo:], old.Body)
			copy(joined[first-lo:], part.Body) // the newer bytes win where they overlap
			part.Body, first, last = joined, lo, hi
			part.Header.Set("Content-Range", "bytes "+itoa(first)+"-"+itoa(last)+"/"+itoa(complete))
		}
	}
	if first == 0 && last == complete-1 {
		full := *part
		full.Key = x.key
		full.StatusCode = http.StatusOK
		full.Header = part.Header.Clone()
		full.Header.Del("Content-Range")
		full.Header.Set("Content-Length", itoa(complete))
		stored, _ := s.write(ctx, x, &entryWrite{kind: writeNew, f: f, a: a, e: &full, resp: resp})
		if stored {
			s.deleteKeys(ctx, part.Key)
		}
		return stored
	}
	part.Header.Set("Content-Length", itoa(last-first+1))
	stored, _ := s.write(ctx, x, &entryWrite{kind: writePart, f: f, a: a, e: part})
	return stored
}
