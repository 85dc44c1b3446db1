package session

import (
	"net/http"
	"time"

	"github.com/reqcache/reqcache/internal/cachekey"
	"github.com/reqcache/reqcache/internal/cachestatus"
	"github.com/reqcache/reqcache/internal/rules"
	"github.com/reqcache/reqcache/stores"
)

// This file is the one storability decision: every write of a response —
// a miss, a 304 merged into an entry, a background refresh, a redirect
// alias, a part, a POST stored as its GET, an import — passes admit, made
// from the exchange that produced the response: its real method, body,
// credentials and directives, which the key comes from too (keyFor). The
// one writer (writer.go) carries the decision out and refuses an entry
// without one. What a store keeps of a header is rules.StorableHeader, for
// a new response and a 304 merge alike.

// admission is what admit decided for one response. The writer takes one
// with every entry it stores and writes nothing admit did not let in.
type admission struct {
	rules.Freshness
	// names are the headers the response varies on.
	names []string
	// refused says why it may not be stored ("" when it may): the
	// storability rules' refusal, or one of the session's own.
	refused cachestatus.Detail
}

// admit is the one storability decision for a response to x's request.
// refused says why not ("" when it may be stored).
func (s *Session) admit(x *exchange, status int, h http.Header, requestedAt, receivedAt time.Time) admission {
	names, star := cachekey.VaryNames(h)
	credential := false
	for _, n := range names {
		credential = credential || x.p.keys.IsCredential(n)
	}
	resp := rules.Response{Status: status, Header: h, RequestedAt: requestedAt, ReceivedAt: receivedAt, VaryStar: star, VaryCredential: credential}
	a := admission{Freshness: rules.NewResponse(&x.rq, &resp, x.p.rules), names: names}
	a.refused = cachestatus.Refused(a.Reason)
	switch {
	case !a.Store:
	case x.bodyCredentials && x.p.SeparateCredentials:
		// The response spoke for whoever the request's body names (a
		// POST stored as its URL's GET): no request under this key
		// carries that body, so none may be answered with it.
		return refused(cachestatus.DetailBodyCredentials)
	case len(h["Location"]) > 0 && x.p.keys.HasCredentials(h.Get("Location")):
		// A redirect to a URL that carries a credential (a presigned
		// download, a token in the query): stored, it would hold the
		// secret in the clear; redacted, it would lead nowhere.
		return refused(cachestatus.DetailLocationCredential)
	}
	return a
}

func refused(why cachestatus.Detail) admission {
	return admission{refused: why}
}

// entryFor is the entry a response that passed admit is stored as, its
// body still to come. Its URL-bearing fields are redacted by the writer
// (redactStored), the one place that does it for every write.
func (s *Session) entryFor(x *exchange, status int, h http.Header, a admission, requestedAt, receivedAt time.Time) *stores.Entry {
	e := &stores.Entry{
		Key:           x.key,
		URIKey:        x.uriKey(),
		StatusCode:    status,
		Header:        rules.StorableHeader(h),
		Method:        cachekey.Method(x.req),
		URL:           x.p.keys.RedactedURL(x.req.URL),
		RequestHeader: x.p.keys.RedactedHeader(x.req.Header),
		RequestedAt:   requestedAt,
		CreatedAt:     receivedAt,
		ExpiresAt:     a.ExpiresAt,
		Lifetime:      a.Lifetime,
	}
	if host := x.req.Host; host != "" && host != x.req.URL.Host {
		// The Host it was sent to selects it too (keys hold it): what is
		// stored says so, for Import to derive its key again.
		if e.RequestHeader == nil {
			e.RequestHeader = make(http.Header, 1)
		}
		e.RequestHeader["Host"] = []string{host}
	}
	if len(a.names) > 0 {
		e.Key = x.p.keys.VariantKey(x.key, a.names, x.req.Header)
	}
	return e
}
