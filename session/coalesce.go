package session

import (
	"context"
	"sync"
	"sync/atomic"
)

// This file coalesces concurrent misses: callers asking for one key while a
// request for it is in flight wait for that request instead of sending their
// own. Unlike x/sync/singleflight, the shared request runs under its own
// context, so a caller that gives up (cancels) neither fails the others nor
// stops the request; only when every waiter has left is it cancelled.

type flightGroup struct {
	mu      sync.Mutex
	flights map[string]*flight
	// joined counts callers that joined another caller's flight, when
	// they join (not when the flight ends).
	joined *atomic.Int64
}

type flight struct {
	done       chan struct{}
	result     *fetchResult
	waiters    int  // guarded by flightGroup.mu
	leaderGone bool // guarded by flightGroup.mu
	// exclusive is set when the flight ends with its leader as its only
	// caller: the leader may then use the result's header map as its own.
	exclusive bool
	cancel    context.CancelFunc
}

// do runs fn once for key among concurrent callers and returns its result.
// shared is false for the caller whose call started fn (the leader);
// exclusive is true when the leader was the flight's only caller. A caller
// whose ctx ends first returns ctx's error; fn keeps running for the others
// and is cancelled when none is left. A streamed (unshareable) result keeps
// its context alive until the leader closes it; its release func cancels it.
//
// fn runs on a goroutine of its own so that a leader can leave when its
// ctx ends while waiters still need the result; a leader whose ctx can
// never end runs it itself, saving the goroutine hand-offs on every miss.
func (g *flightGroup) do(ctx context.Context, key string, fn func(ctx context.Context) *fetchResult) (res *fetchResult, shared, exclusive bool, err error) {
	g.mu.Lock()
	if g.flights == nil {
		g.flights = make(map[string]*flight)
	}
	f, shared := g.flights[key]
	if shared {
		f.waiters++
		if g.joined != nil {
			g.joined.Add(1)
		}
	} else {
		if ctx.Done() == nil {
			// The leader can never leave, so fn runs under its own context
			// and nothing is ever cancelled.
			f = &flight{done: make(chan struct{}), waiters: 1, cancel: func() {}}
			g.flights[key] = f
			g.mu.Unlock()
			g.run(key, f, ctx, fn)
			return f.result, false, f.exclusive, nil
		}
		fctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		f = &flight{done: make(chan struct{}), waiters: 1, cancel: cancel}
		g.flights[key] = f
		go g.run(key, f, fctx, fn)
	}
	g.mu.Unlock()

	select {
	case <-f.done:
		return f.result, shared, !shared && f.exclusive, nil
	case <-ctx.Done():
		g.mu.Lock()
		defer g.mu.Unlock()
		f.waiters--
		select {
		case <-f.done:
			// Finished as we gave up: a stream meant for us has no reader.
			if !shared {
				f.result.discard()
			}
		default:
			if !shared {
				f.leaderGone = true
			}
			if f.waiters == 0 {
				f.cancel()
			}
		}
		return nil, shared, false, ctx.Err()
	}
}

func (g *flightGroup) run(key string, f *flight, ctx context.Context, fn func(ctx context.Context) *fetchResult) {
	res := fn(ctx)
	g.mu.Lock()
	defer g.mu.Unlock()
	f.result = res
	f.exclusive = f.waiters == 1 && !f.leaderGone
	delete(g.flights, key)
	switch {
	case res.stream == nil:
		f.cancel()
	case f.leaderGone:
		res.release = f.cancel
		res.discard()
	default:
		res.release = f.cancel
	}
	close(f.done)
}
