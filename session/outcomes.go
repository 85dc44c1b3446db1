package session

import (
	"context"
	"io"
	"net/http"
	"time"

	"github.com/reqcache/reqcache/internal/cachestatus"
	"github.com/reqcache/reqcache/internal/flight"
	"github.com/reqcache/reqcache/internal/streambody"
	"github.com/reqcache/reqcache/stores"
)

// This file is what one trip to the origin produces, in a form every
// caller of its flight (internal/flight) can turn into its own response:
// one of three outcomes, each its own type.

// tripResult is one trip's outcome: tripFailed, *newResponse or
// *storedAnswer.
type tripResult interface {
	flight.Result
}

// tripFailed: the trip failed, and nothing stored answers instead.
type tripFailed struct {
	noBody
	err error
}

// storedAnswer: a stored response answers — one a 304 vouched for
// (revalidated), one the failed trip fell back on (stale-if-error), or one
// another process of the fleet stored while this one waited.
type storedAnswer struct {
	noBody
	// began is the session's invalidation count when the trip began
	// (exchange.since), for the callers that join it (joins).
	began uint64
	// entry is read only: every caller answered from it copies its
	// header. key is where it is stored.
	entry *stores.Entry
	key   string
	how   answered
	// failed: the trip failed and entry is the stale fallback.
	failed bool
	// setCookie is a 304's Set-Cookie: for the caller that made the trip
	// alone (never stored, never shared).
	setCookie []string
}

// newResponse: what the origin answered, whose body is one of body
// (complete: empty or stored at once), streamed (streaming to every caller
// while the cache keeps its copy) or untouched (the upstream's response
// itself, not kept, for the caller that made the trip alone).
type newResponse struct {
	// began is the session's invalidation count when the trip began
	// (exchange.since), for the callers that join it (joins).
	began       uint64
	status      int
	header      http.Header // not to be modified: callers clone it
	body        []byte      // complete body; shared read-only
	requestedAt time.Time
	info        Info
	// fwd and detail fill this cache's Cache-Status member; detail is
	// also why an untouched response is not kept.
	fwd    cachestatus.Fwd
	detail cachestatus.Detail
	// shareable: coalesced callers may use it (it may be stored).
	// Responses that may not be stored are not shared: each waiter then
	// asks the origin itself.
	shareable bool
	// selectors are the leader's request fields the response varies on,
	// copied when it arrived: a waiter is selected by them, whatever the
	// leader's caller does with its request afterwards.
	selectors http.Header
	// streamed streams the body to every caller; first is the reader of
	// the caller that made the trip.
	streamed      *streambody.Body
	first         *streambody.Reader
	contentLength int64
	// uncompressed: the upstream Transport decoded the body it asked gzip
	// for (http.Response.Uncompressed, passed on to the callers).
	uncompressed bool
	// untouched is the upstream response itself, when it is not kept (too
	// large, not storable, an upgrade); only the leader may use it.
	untouched *http.Response
	release   context.CancelFunc
	// pending is the write waiting for a streamed body's end: in the
	// response's own allocation.
	pending pendingStore
}

// kept reports a response the cache keeps (or tried to): not handed on
// untouched (admit refused it, it is too large, an upgrade).
func (r *newResponse) kept() bool { return r.untouched == nil }

// The flight group sees an outcome through these: a body streaming to
// every caller keeps the flight joinable until it ends; the upstream's own
// response is the leader's, released when it is done.

func (r *newResponse) Streaming() bool       { return r.streamed != nil }
func (r *newResponse) OnEnd(ended func())    { r.streamed.OnStop(ended) }
func (r *newResponse) Holding() bool         { return r.untouched != nil }
func (r *newResponse) SetRelease(rel func()) { r.release = rel }

// Discard closes the body of a response the caller that made the trip
// will not read (it left, or it is a background refresh).
func (r *newResponse) Discard() {
	if r.first != nil {
		r.first.Close()
		r.first = nil
	}
	if r.untouched == nil {
		return
	}
	r.untouched.Body.Close()
	r.untouched = nil
	if r.release != nil {
		r.release()
	}
}

// noBody is the flight.Result of an outcome without a body of its own.
type noBody struct{}

func (noBody) Streaming() bool   { return false }
func (noBody) OnEnd(func())      {}
func (noBody) Holding() bool     { return false }
func (noBody) SetRelease(func()) {}
func (noBody) Discard()          {}

// consume reads an outcome's body to its end and closes it, for a
// background refresh: the entry is stored when the body ends.
func consume(res tripResult) {
	if r, ok := res.(*newResponse); ok {
		if r.first != nil {
			_, _ = io.Copy(io.Discard, r.first)
		}
		r.Discard()
	}
}

// failure is the error of a failed trip (nil for the other outcomes).
func failure(res tripResult) error {
	if f, ok := res.(tripFailed); ok {
		return f.err
	}
	return nil
}
