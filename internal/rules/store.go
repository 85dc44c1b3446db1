package rules

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/reqcache/reqcache/config"
	"github.com/reqcache/reqcache/stores"
)

// This file decides whether a new response may be stored and until when,
// in the precedence of docs/configuration.md: response Cache-Control (with
// cache_control) > request Cache-Control > WithExpireAfter >
// urls_expire_after > expire_after as a duration or time > heuristic
// freshness (with cache_control) > expire_after never or immediately; and which of its fields a store may keep — also when a 304
// updates a stored response, so that the two never disagree.

// Freshness is the decision for one new response.
type Freshness struct {
	Store     bool
	ExpiresAt time.Time // zero: never
	// NeedsValidator: expire_after (or the request's or URL's
	// expiration) is "immediately", and the response is only worth
	// storing when it can be revalidated (requests-cache skips it too).
	// A response stale on arrival for any other reason — no-cache,
	// max-age=0, an Expires or a time already past — is stored all the
	// same, as requests-cache stores it: stale_if_error may fall back to
	// it, ResetExpiration extend it; stale, it answers nothing else.
	NeedsValidator bool
	Reason         Refusal // why it is not stored ("": it is)
	// Lifetime is where ExpiresAt came from, decided here once: the
	// entry keeps it, the debug page shows it.
	Lifetime stores.Lifetime
}

// Refusal says why the storability decision refused a response. Its
// values are Cache-Status details (cachestatus.Refused; a test holds it).
type Refusal string

// The refusals.
const (
	RefusedReadOnly       Refusal = "read-only"        // read_only: nothing is written
	RefusedStatus         Refusal = "status"           // a status outside allowable_codes
	RefusedEventStream    Refusal = "event-stream"     // text/event-stream: never ends
	RefusedNoValidator    Refusal = "no-validator"     // never usable without one (no-cache, immediately)
	RefusedVary           Refusal = "vary"             // Vary: *, or a credential shared across credentials
	RefusedSetCookie      Refusal = "set-cookie"       // Set-Cookie shared across credentials
	RefusedRequestNoStore Refusal = "request-no-store" // the request's no-store
	RefusedDoNotCache     Refusal = "do_not_cache"     // the expiration settings
	RefusedMustUnderstand Refusal = "must-understand"  // must-understand with a status not understood
	RefusedNoStore        Refusal = "no-store"         // the response's no-store
)

// Heuristic reports a heuristic lifetime (§4.2.2), not the response's own.
func (f *Freshness) Heuristic() bool { return f.Lifetime == stores.LifetimeHeuristic }

// Response is what the storability decision reads of a response.
type Response struct {
	Status                  int
	Header                  http.Header
	RequestedAt, ReceivedAt time.Time
	// VaryStar is "Vary: *"; VaryCredential a Vary naming a header that
	// holds credentials (cachekey tells).
	VaryStar, VaryCredential bool
}

// NewResponse is the one storability decision: whether a response to req
// may be stored, and until when. Every write of a response passes it,
// made from the exchange that produced the response.
func NewResponse(req *Request, resp *Response, set *Settings) Freshness {
	switch {
	case set.ReadOnly:
		return Freshness{Reason: RefusedReadOnly}
	case !set.Codes[resp.Status]:
		return Freshness{Reason: RefusedStatus}
	case isEventStream(resp.Header):
		// A replayed event stream is never what a caller wants (and a
		// live one never ends).
		return Freshness{Reason: RefusedEventStream}
	}
	respD := Absent()
	if set.CacheControl {
		respD = Parse(resp.Header)
	}
	f := freshness(req, resp, &respD, set)
	switch {
	case !f.Store:
	case (f.NeedsValidator || f.Lifetime == stores.LifetimeNoCache) && !HasValidator(resp.Header):
		// Nothing could ever use it: "immediately" (requests-cache
		// skips it too), or no-cache, which is never used stale
		// (§5.2.2.4) and cannot be revalidated without a validator —
		// kept, a long response (a Kubernetes watch) would be buffered
		// for nothing.
		return Freshness{Reason: RefusedNoValidator}
	case resp.VaryStar || resp.VaryCredential && !set.SeparateCredentials:
		// Never selects again: "*", or credentials a shared entry
		// keeps only REDACTED.
		return Freshness{Reason: RefusedVary}
	case len(resp.Header["Set-Cookie"]) > 0 && !set.SeparateCredentials:
		// Entries are shared across credentials here: a response that
		// sets a cookie is likely made for one user.
		return Freshness{Reason: RefusedSetCookie}
	}
	return f
}

func isEventStream(h http.Header) bool {
	mt, _, _ := strings.Cut(h.Get("Content-Type"), ";")
	return strings.EqualFold(strings.TrimSpace(mt), "text/event-stream")
}

// freshness is the lifetime part of NewResponse.
func freshness(req *Request, resp *Response, respD *Directives, set *Settings) Freshness {
	reqD := &req.Directives
	if reqD.NoStore {
		return Freshness{Reason: RefusedRequestNoStore}
	}
	if req.Expiration.Kind() == config.NoCache {
		// do_not_cache: neither read nor written, whatever the response says.
		return Freshness{Reason: RefusedDoNotCache}
	}
	h, receivedAt := resp.Header, resp.ReceivedAt
	if set.CacheControl {
		// §5.2.2.3 must-understand: a cache that knows the status code's
		// caching rules may store the response in spite of no-store; one
		// that does not, must not.
		mustUnderstand := respD.MustUnderstand && understoodStatus(resp.Status)
		if respD.MustUnderstand && !mustUnderstand {
			return Freshness{Reason: RefusedMustUnderstand}
		}
		if respD.NoStore && !mustUnderstand {
			return Freshness{Reason: RefusedNoStore}
		}
		if respD.NoCache {
			return Freshness{Store: true, ExpiresAt: receivedAt, Lifetime: stores.LifetimeNoCache}
		}
		if respD.Immutable {
			return Freshness{Store: true, Lifetime: stores.LifetimeImmutable}
		}
		if life, ok := ExplicitLifetime(h, respD, receivedAt); ok {
			exp := receivedAt.Add(life - CorrectedInitialAge(h, resp.RequestedAt, receivedAt))
			from := stores.LifetimeExpires
			if respD.MaxAge >= 0 {
				from = stores.LifetimeMaxAge
			}
			return Freshness{Store: true, ExpiresAt: exp, Lifetime: from}
		}
		// A lifetime the user wrote (WithExpireAfter, urls_expire_after,
		// expire_after) beats a guess.
		if set.HeuristicFreshness.Enabled && !req.WrittenExpiration && reqD.MaxAge < 0 {
			if life, ok := HeuristicLifetime(resp.Status, h, receivedAt, set.HeuristicFreshness.Max); ok {
				exp := receivedAt.Add(life - CorrectedInitialAge(h, resp.RequestedAt, receivedAt))
				return Freshness{Store: true, ExpiresAt: exp, Lifetime: stores.LifetimeHeuristic}
			}
		}
	}
	reqExp, from := req.Expiration, req.ExpirationFrom
	if !reqExp.IsSet() {
		reqExp, from = config.NeverExpire, stores.LifetimeExpireAfter
	}
	if reqD.MaxAge >= 0 {
		reqExp, from = config.After(reqD.MaxAge), stores.LifetimeRequestMaxAge
	}
	exp, ok := reqExp.ExpiresAt(receivedAt)
	if !ok {
		return Freshness{Reason: RefusedDoNotCache}
	}
	f := Freshness{Store: true, ExpiresAt: exp, Lifetime: from}
	if reqExp.Kind() == config.Immediately {
		f.NeedsValidator = true
	}
	return f
}

// understoodStatus reports the status codes whose caching rules this cache
// implements (RFC 9110 §15.1's heuristically cacheable ones, and 302, 303
// and 307 whose freshness comes from their headers alone).
func understoodStatus(status int) bool {
	switch status {
	case 200, 203, 204, 206, 300, 301, 302, 303, 307, 308, 404, 405, 410, 414, 501:
		return true
	}
	return false
}

// HeuristicLifetime is §4.2.2's heuristic freshness lifetime: for a
// heuristically cacheable status and a Last-Modified in the past, 10% of
// the time since then (as of Date), at most limit (0: no bound).
func HeuristicLifetime(status int, h http.Header, receivedAt time.Time, limit time.Duration) (time.Duration, bool) {
	if !heuristicallyCacheable(status) {
		return 0, false
	}
	lm, ok := ParseHTTPDate(h.Get("Last-Modified"))
	if !ok {
		return 0, false
	}
	base := receivedAt
	if date, ok := ParseHTTPDate(h.Get("Date")); ok {
		base = date
	}
	age := base.Sub(lm)
	if age < 0 {
		return 0, false // a Last-Modified in the future says nothing
	}
	// An age of zero (an object read right after it was written: its
	// Last-Modified is its Date) is a lifetime of zero — stale at once,
	// revalidated on the next read — not "no heuristic", which left it to
	// expire_after ("never", by default) (issue 38, finding 6).
	life := age / 10
	if limit > 0 && life > limit {
		life = limit
	}
	return life, true
}

// heuristicallyCacheable reports RFC 9110 §15.1's heuristically cacheable
// status codes.
func heuristicallyCacheable(status int) bool {
	switch status {
	case 200, 203, 204, 206, 300, 301, 308, 404, 405, 410, 414, 501:
		return true
	}
	return false
}

// RedirectStorable reports whether a redirect may be remembered as an
// alias to where it leads. An alias answers later requests without asking
// the origin, so a redirect that may not be reused is never one: no-store
// (whatever cache_control says), no-cache or (shared across credentials)
// private under cache_control, a Set-Cookie (made for one visitor:
// "/whoami" to "/users/1"), or any Vary (an alias cannot tell variants
// apart).
func RedirectStorable(set *Settings, h http.Header) bool {
	if len(h["Set-Cookie"]) > 0 || len(h["Vary"]) > 0 {
		return false
	}
	d := Parse(h)
	if d.NoStore {
		return false
	}
	return !set.CacheControl || !(d.NoCache || d.Private && !set.SeparateCredentials)
}

// neverStored are the fields no store keeps (RFC 9111 §3.1): hop-by-hop
// fields, Set-Cookie (a cookie is for the caller whose request received
// it, never for whoever a stored response answers later) and this cache's
// own Cache-Status. The fields a Connection header names are hop-by-hop
// too.
var neverStored = []string{"Connection", "Keep-Alive", "Proxy-Connection", "Te", "Trailer", "Transfer-Encoding", "Upgrade", "Proxy-Authenticate", "Set-Cookie", "Cache-Status"}

// StorableHeader is h without the fields no store keeps. When there is
// nothing to remove it returns h itself.
func StorableHeader(h http.Header) http.Header {
	strip := false
	for _, f := range neverStored {
		strip = strip || len(h[f]) > 0
	}
	if !strip {
		return h
	}
	out := h.Clone()
	for _, f := range connectionFields(h) {
		out.Del(f)
	}
	for _, f := range neverStored {
		delete(out, f)
	}
	return out
}

// connectionFields are the names a Connection header lists.
func connectionFields(h http.Header) []string {
	var names []string
	for _, v := range h.Values("Connection") {
		for _, f := range strings.Split(v, ",") {
			if f = strings.TrimSpace(f); f != "" {
				names = append(names, f)
			}
		}
	}
	return names
}

// notUpdated are the 304 fields that describe the 304 message, not the
// stored representation (RFC 9111 §3.2): a 304 never replaces them.
var notUpdated = []string{"Content-Length", "Content-Encoding", "Content-Range"}

// changeIrrelevant fields change on every 304 without changing the entry
// in a way worth a write.
var changeIrrelevant = []string{"Date", "Age"}

// ExpiryChanged reports whether a 304's update moved when a stored
// response expires in a way worth writing: its expiry changed, unless the
// response was stale on arrival before (expired at or before it was
// created) and is again (at or before received, the 304's arrival) — a
// response that needs validation every time need not be written every
// time.
func ExpiryChanged(before, createdBefore, after, received time.Time) bool {
	staleBefore := !before.IsZero() && !before.After(createdBefore)
	staleNow := !after.IsZero() && !after.After(received)
	return !after.Equal(before) && !(staleBefore && staleNow)
}

// Merge is a stored header updated by a 304 (RFC 9111 §4.3.4, §3.2): the
// 304's fields replace the stored ones, except those a store never keeps
// and those that describe the 304 itself. changed reports a change worth
// writing (not just Date or Age).
func Merge(stored, notModified http.Header) (merged http.Header, changed bool) {
	merged = stored.Clone()
	if merged == nil {
		merged = make(http.Header)
	}
	hop := connectionFields(notModified)
	for name, vs := range notModified {
		if slices.Contains(neverStored, name) || slices.Contains(notUpdated, name) || slices.ContainsFunc(hop, func(f string) bool { return http.CanonicalHeaderKey(f) == name }) {
			continue
		}
		if !slices.Equal(merged[name], vs) {
			merged[name] = slices.Clone(vs)
			if !slices.Contains(changeIrrelevant, name) {
				changed = true
			}
		}
	}
	return merged, changed
}
