package session

import (
	"context"
	"time"

	"github.com/reqcache/reqcache/internal/rules"
	"github.com/reqcache/reqcache/stores"
)

// This file coalesces cold misses across the processes sharing a store
// (stores.Leaser, MongoDB's [mongo] lease): the first process to miss a key
// takes its lease and fetches; the others wait for the entry it stores and
// answer from it. Inside one process the flight group already lets one
// caller wait for another, so only a flight's leader comes here.

// Polling the store for the holder's entry starts quick (a fast origin
// answers within milliseconds) and slows down, so that a slow one does not
// cost the store a query per waiter every few milliseconds.
const (
	fleetPollFirst = 10 * time.Millisecond
	fleetPollMax   = 250 * time.Millisecond
)

// leaseHold is a lease this process holds while it fetches.
type leaseHold struct {
	s     *Session
	l     stores.Leaser
	key   string
	lease stores.Lease
	ctx   context.Context
}

// fleetApplies reports whether x's miss should be coordinated with the
// fleet: the store has leases, this process writes, and the request does
// not insist on the origin.
func (s *Session) fleetApplies(x *exchange) (stores.Leaser, bool) {
	l := s.opt.Leaser
	if l == nil || l.LeaseTimeout() <= 0 || x.p.ReadOnly || x.demandsTrip() {
		return nil, false
	}
	return l, true
}

// fetchMiss is fetch for a key nothing is stored under: with a fleet, the
// process holding the key's lease fetches and the others answer from what
// it stores.
func (s *Session) fetchMiss(ctx context.Context, x *exchange, f found) tripResult {
	l, ok := s.fleetApplies(x)
	if !ok {
		return s.fetchOrigin(ctx, x, f, false)
	}
	hold, found := s.awaitFleet(ctx, l, x)
	if found != nil {
		return found
	}
	res := s.fetchOrigin(ctx, x, f, false)
	hold.releaseAfter(res)
	return res
}

// awaitFleet takes x's lease (hold, for the caller to release), or waits
// until the holder's entry can answer x (res), its lease ends (then takes
// it), or it gives up on storing. A failing store means fetching: both
// results nil.
func (s *Session) awaitFleet(ctx context.Context, l stores.Leaser, x *exchange) (hold *leaseHold, res tripResult) {
	poll := fleetPollFirst
	for {
		lease, err := l.AcquireLease(ctx, x.key)
		if err != nil {
			if ctx.Err() != nil {
				return nil, tripFailed{err: ctx.Err()}
			}
			s.storeError("lease", err)
			return nil, nil
		}
		if lease.Held {
			hold = &leaseHold{s: s, l: l, key: x.key, lease: lease, ctx: detached(ctx)}
			// Another process may have stored the entry and let go since
			// this one looked — while it waited, or between its lookup and
			// this lease, when the other's fetch was quick: one store read
			// more per lease taken, one origin request fewer (the fleet
			// test at scale asked twice without it).
			if res := s.fleetEntry(x); res != nil {
				hold.release(true)
				return nil, res
			}
			return hold, nil
		}
		if lease.Abandoned {
			return nil, nil
		}

		wait := min(poll, max(time.Until(lease.Until), time.Millisecond))
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, tripFailed{err: ctx.Err()}
		case <-s.work.Context().Done():
			// Close waits for trips: it should not wait a lease out.
			t.Stop()
			return nil, nil
		case <-t.C:
		}
		if res := s.fleetEntry(x); res != nil {
			return nil, res
		}
		poll = min(poll*3/2, fleetPollMax)
	}
}

// fleetEntry answers x from the store when another process's entry can
// serve it fresh (the one reuse decision).
func (s *Session) fleetEntry(x *exchange) *storedAnswer {
	f := s.lookup(x)
	if f.e == nil || s.decide(x, f.e, false).Action != rules.Serve {
		return nil
	}
	return &storedAnswer{entry: f.e, key: f.key, how: answered{fleetWait: true}}
}

// releaseAfter lets go of the lease once res's fate is known: at once for
// a complete or unstorable response, at the end of a streamed body.
func (h *leaseHold) releaseAfter(res tripResult) {
	if h == nil {
		return
	}
	r, isNew := res.(*newResponse)
	if isNew && r.streamed != nil {
		body := r.streamed
		body.OnStop(func() { h.release(body.Stored()) })
		return
	}
	h.release(isNew && r.info.Stored)
}

// release ends the lease; stored tells waiters whether to look for the
// entry or fetch for themselves.
func (h *leaseHold) release(stored bool) {
	if err := h.l.ReleaseLease(h.ctx, h.key, h.lease, stored); err != nil {
		h.s.storeError("lease", err)
	}
}
