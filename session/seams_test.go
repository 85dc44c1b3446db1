package session

import (
	"io"
	"net/http"
)

// Seams below RoundTrip, for the external tests (package session_test), as
// net/http's export_test.go has them: each drives one step of a request's journey
// without the others.

// Find runs a request's steps up to the answer — its options, rules and
// key, lookup through the URL's index, the one reuse decision — and
// returns its key, the key of the entry lookup found ("" for none) and
// what the decision says.
func (s *Session) Find(req *http.Request) (key, foundKey, action string) {
	x := s.seamExchange(req)
	f, d := s.find(x)
	return x.key, f.key, d.Action.String()
}

// seamExchange is req read as roundTrip reads a request it looks up: its
// options, rules and key.
func (s *Session) seamExchange(req *http.Request) *exchange {
	ex, _ := s.newExchange(req, s.upstream)
	x := &ex
	x.readRequest()
	x.key, x.uri = s.keyAndURIFor(x.p, req, nil)
	return x
}

// Receive hands resp, as if the origin had just answered req with it, to
// the one storability decision and the writer, and reads its body to the
// end: stored says whether the cache keeps it, why why not.
func (s *Session) Receive(req *http.Request, resp *http.Response) (stored bool, why string) {
	x := s.seamExchange(req)
	now := s.now()
	res := s.receive(req.Context(), x, s.lookup(x), resp, "", now, now)
	if !res.kept() {
		res.untouched.Body.Close()
		return false, string(res.detail)
	}
	if res.first != nil {
		_, _ = io.Copy(io.Discard, res.first)
		res.first.Close()
		return res.streamed.Stored(), ""
	}
	return res.info.Stored, ""
}

// Revalidated hands resp, a 304 as if the origin had just answered a
// revalidation of what lookup finds for req, to the merge (notModified:
// the 304's fields into the stored ones, the storability decision, the
// writer when something changed); it returns the answer's header, and
// false when nothing was stored for req.
func (s *Session) Revalidated(req *http.Request, resp *http.Response) (answer http.Header, ok bool) {
	x := s.seamExchange(req)
	f := s.lookup(x)
	if f.e == nil {
		return nil, false
	}
	now := s.now()
	return s.notModified(req.Context(), x, f, resp, now, now).entry.Header, true
}

// ReceivePart hands resp, a 206 as if the origin had just answered req (a
// Range request) with it, to the parts step (keepPart, joinPart: kept only
// with a strong validator and a known range, joined with the stored part
// of the same representation, stored as the complete response once the
// parts cover it), and reads its body to the end: stored says whether the
// cache kept it.
func (s *Session) ReceivePart(req *http.Request, resp *http.Response) (stored bool) {
	x := s.seamExchange(req)
	now := s.now()
	out := s.keepPart(x, s.lookup(x), resp, now, now)
	if out == nil {
		resp.Body.Close()
		return false
	}
	_, _ = io.Copy(io.Discard, out.Body)
	out.Body.Close()
	return InfoOf(out).Stored
}
