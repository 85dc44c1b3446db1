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
// ctx ends while waiters still need the result. (doHere is the cheaper
// form for a ctx that can never end.)
func (g *flightGroup) do(ctx context.Context, key string, fn func(ctx context.Context) *fetchResult) (res *fetchResult, shared, exclusive bool, err error) {
	f, shared := g.join(key)
	if !shared {
		fctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		f.cancel = cancel
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

// doHere is do for a caller whose ctx can never end (ctx.Done() is nil):
// a leader runs fn on its own goroutine, so fn may use memory that does
// not outlive the call, and nothing is ever cancelled.
func (g *flightGroup) doHere(ctx context.Context, key string, fn func(ctx context.Context) *fetchResult) (res *fetchResult, shared, exclusive bool) {
	f, shared := g.join(key)
	if shared {
		g.mu.Unlock()
		<-f.done
		return f.result, true, false
	}
	f.cancel = func() {}
	g.mu.Unlock()
	g.run(key, f, ctx, fn)
	return f.result, false, f.exclusive
}

// join returns key's flight, shared when it was already in flight, or a
// new one the caller leads. It returns with g.mu held: the leader sets
// the flight's cancel before unlocking.
func (g *flightGroup) join(key string) (f *flight, shared bool) {
	g.mu.Lock()
	if g.flights == nil {
		g.flights = make(map[string]*flight)
	}
	f, shared = g.flights[key]
	if shared {
		f.waiters++
		if g.joined != nil {
			g.joined.Add(1)
		}
		return f, true
	}
	f = &flight{done: make(chan struct{}), waiters: 1}
	g.flights[key] = f
	return f, false
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
