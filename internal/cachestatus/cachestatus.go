// Package cachestatus is this cache's member of the Cache-Status response
// header (RFC 9211): why a request went forward, the detail of why a
// response was answered stale, not stored or bypassed, and the member
// written from them once.
package cachestatus

import (
	"net/http"
	"strconv"
	"time"
	"unsafe"

	"github.com/reqcache/reqcache/internal/rules"
)

// Name is this cache's name in Cache-Status.
const Name = "reqcache"

// Fwd is why a request went forward (RFC 9211 §2.2).
type Fwd string

const (
	FwdNone    Fwd = ""         // answered from the cache
	FwdURIMiss Fwd = "uri-miss" // nothing stored
	FwdStale   Fwd = "stale"    // stored, but stale: revalidated or fetched
	FwdRequest Fwd = "request"  // the request asked for the origin (ForceRefresh, Refresh, no-cache)
	FwdBypass  Fwd = "bypass"   // the cache was not used
)

// Detail is the detail parameter of this cache's Cache-Status: why a
// response was answered stale, not stored, or bypassed. Every value is a
// constant here, a string literal; docs/installing.md lists them (a test
// reads both).
type Detail string

// The details.
const (
	DetailNone                 Detail = ""
	DetailStaleIfError         Detail = "stale-if-error" // the stale reasons are rules.Reason's
	DetailStaleWhileRevalidate Detail = "stale-while-revalidate"
	DetailMaxStale             Detail = "max-stale"
	DetailOnlyIfCached         Detail = "only-if-cached"
	DetailHeuristic            Detail = "heuristic"
	DetailFleetWait            Detail = "fleet-wait"
	DetailRange                Detail = "range"
	DetailUpgrade              Detail = "upgrade"
	// Why the cache was bypassed.
	DetailDisabled        Detail = "disabled"
	DetailDoNotCache      Detail = "do_not_cache"
	DetailMethod          Detail = "method"
	DetailMethodOverride  Detail = "method-override"
	DetailRequestTooLarge Detail = "request-too-large"
	DetailBodyCredentials Detail = "body-credentials"
	DetailFilter          Detail = "filter"
	DetailTooLarge        Detail = "too-large"
	DetailStoreError      Detail = "store-error"
	DetailStatus          Detail = "status"
	DetailNoStore         Detail = "no-store"
	DetailRequestNoStore  Detail = "request-no-store"
	DetailMustUnderstand  Detail = "must-understand"
	DetailNoValidator     Detail = "no-validator"
	DetailVary            Detail = "vary"
	DetailSetCookie       Detail = "set-cookie"
	DetailEventStream     Detail = "event-stream"
	DetailReadOnly        Detail = "read-only"
	// A Location naming a URL with a credential.
	DetailLocationCredential Detail = "location-credential"
	DetailInvalidated        Detail = "invalidated" // the resource invalidated meanwhile (session/writer.go, overtaken)
)

// Status is this cache's Cache-Status member for one response, as
// named fields; Render writes it once.
type Status struct {
	Hit       bool
	Fwd       Fwd
	FwdStatus int
	// TTL: the seconds of freshness left (negative: stale), when it
	// expires at all.
	TTL       int64
	HasTTL    bool
	Stored    bool
	Collapsed bool
	Detail    Detail
}

// Refused is the detail of a response the storability decision refused
// (rules.Refusal's values are details: TestCacheStatusDetailsAreDocumented).
func Refused(r rules.Refusal) Detail { return Detail(r) }

// Stale is the detail of a stale answer, allowed for r (ReasonStaleIfError,
// ReasonStaleWhileRevalidate, ReasonMaxStale, ReasonOnlyIfCached: details
// too, held by the same test).
func Stale(r rules.Reason) Detail { return Detail(r) }

// WithTTL sets the ttl of a response that expires at expires (zero:
// never).
func (c Status) WithTTL(expires, now time.Time) Status {
	if !expires.IsZero() {
		c.TTL, c.HasTTL = rules.SecondsFloor(expires.Sub(now)), true
	}
	return c
}

// Render writes the member.
func (c *Status) Render() string {
	if c.isPlainHit() {
		return plainHit // the common hit of an entry that never expires: no allocation
	}
	return string(c.AppendTo(make([]byte, 0, 64)))
}

func (c *Status) isPlainHit() bool {
	return c.Hit && !c.HasTTL && !c.Stored && !c.Collapsed && c.Detail == ""
}

// RenderInto is Render into buf, which then backs the string: a hit keeps
// buf in the allocation it makes anyway, so that the member of an entry
// with a lifetime ("reqcache; hit; ttl=42") costs none. buf must not be
// written again while the string lives.
func (c *Status) RenderInto(buf *[64]byte) string {
	if c.isPlainHit() {
		return plainHit
	}
	b := c.AppendTo(buf[:0])
	return unsafe.String(&b[0], len(b)) // b is buf, or a copy append made when it did not fit
}

// AppendTo appends the member to b.
func (c *Status) AppendTo(b []byte) []byte {
	b = append(b, Name...)
	if c.Hit {
		b = append(b, "; hit"...)
	}
	if c.Fwd != FwdNone {
		b = append(b, "; fwd="...)
		b = append(b, c.Fwd...)
		if c.FwdStatus != 0 {
			b = append(b, "; fwd-status="...)
			b = strconv.AppendInt(b, int64(c.FwdStatus), 10)
		}
	}
	if c.HasTTL {
		b = append(b, "; ttl="...)
		b = strconv.AppendInt(b, c.TTL, 10)
	}
	if c.Stored {
		b = append(b, "; stored"...)
	}
	if c.Collapsed {
		b = append(b, "; collapsed"...)
	}
	if c.Detail != "" {
		b = append(b, "; detail="...)
		b = append(b, c.Detail...)
	}
	return b
}

const plainHit = Name + "; hit"

// SetHeader adds this cache's member to the response's Cache-Status,
// after any member an upstream cache wrote (RFC 9211 §2: the cache nearest
// the client comes last); slot backs the field when it is the only member.
func SetHeader(h http.Header, slot *[1]string, v string) {
	if prev := h["Cache-Status"]; len(prev) > 0 {
		h["Cache-Status"] = append(prev[:len(prev):len(prev)], v)
		return
	}
	slot[0] = v
	h["Cache-Status"] = slot[:1:1]
}
