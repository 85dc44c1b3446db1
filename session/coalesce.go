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
	cancel     context.CancelFunc
}

// do runs fn once for key among concurrent callers and returns its result.
// shared is false for the caller whose call started fn (the leader). A caller
// whose ctx ends first returns ctx's error; fn keeps running for the others
// and is cancelled when none is left. A streamed (unshareable) result keeps
// its context alive until the leader closes it; its release func cancels it.
func (g *flightGroup) do(ctx context.Context, key string, fn func(ctx context.Context) *fetchResult) (res *fetchResult, shared bool, err error) {
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
		fctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		f = &flight{done: make(chan struct{}), waiters: 1, cancel: cancel}
		g.flights[key] = f
		go g.run(key, f, fctx, fn)
	}
	g.mu.Unlock()

	select {
	case <-f.done:
		return f.result, shared, nil
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
		return nil, shared, ctx.Err()
	}
}

func (g *flightGroup) run(key string, f *flight, ctx context.Context, fn func(ctx context.Context) *fetchResult) {
	res := fn(ctx)
	g.mu.Lock()
	defer g.mu.Unlock()
	f.result = res
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
