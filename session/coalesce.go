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
	// running counts the goroutines do starts, for Session.Close to wait.
	running sync.WaitGroup
	// joined counts callers that joined another caller's flight, when
	// they join (not when the flight ends).
	joined *atomic.Int64
}

type flight struct {
	// done is closed when the flight has its result (finished). It is
	// made only for a caller that waits: a leader through doHere alone,
	// the common miss, never needs it.
	done       chan struct{} // guarded by flightGroup.mu until closed
	finished   bool          // guarded by flightGroup.mu
	result     *fetchResult
	waiters    int  // guarded by flightGroup.mu
	leaderGone bool // guarded by flightGroup.mu
	// exclusive is set when the flight ends with its leader as its only
	// caller: the leader may then use the result's header map as its own.
	exclusive bool
	cancel    context.CancelFunc
}

// outcome is what one caller of a flight gets.
type outcome struct {
	res *fetchResult
	// joined: the caller waited for another caller's trip.
	joined bool
	// exclusive: the leader was the flight's only caller.
	exclusive bool
	// late: a waiter that joined after the trip's response arrived, while
	// its body streams.
	late bool
}

// do runs fn once for key among concurrent callers and returns its result.
// The caller whose call started fn is the leader (joined false). A caller
// whose ctx ends first returns ctx's error; fn keeps running for the others
// and is cancelled when none is left. A streamed result keeps its context
// alive until its body is done; its release func cancels it.
//
// fn runs on a goroutine of its own so that a leader can leave when its
// ctx ends while waiters still need the result. (doHere is the cheaper
// form for a ctx that can never end.)
func (g *flightGroup) do(ctx context.Context, key string, fn func(ctx context.Context) *fetchResult) (outcome, error) {
	f, joined, late := g.join(key)
	if !joined {
		f.done = make(chan struct{}) // this leader waits, below
		fctx, cancel := context.WithCancel(detached(ctx))
		f.cancel = cancel
		g.running.Add(1)
		go func() {
			defer g.running.Done()
			g.run(key, f, fctx, fn)
		}()
	}
	g.mu.Unlock()

	select {
	case <-f.done:
		return outcome{res: f.result, joined: joined, exclusive: !joined && f.exclusive, late: late}, nil
	case <-ctx.Done():
		g.mu.Lock()
		defer g.mu.Unlock()
		f.waiters--
		select {
		case <-f.done:
			// Finished as we gave up: a body meant for us has no reader.
			if !joined {
				f.result.discard()
			}
		default:
			if !joined {
				f.leaderGone = true
			}
			if f.waiters == 0 {
				f.cancel()
			}
		}
		return outcome{joined: joined}, ctx.Err()
	}
}

// doHere is do for a caller whose ctx can never end (ctx.Done() is nil):
// a leader runs fn on its own goroutine, so fn may use memory that does
// not outlive the call, and nothing is ever cancelled. It pays: a quarter
// of a miss's CPU (docs/performance.md, "Miss overhead").
func (g *flightGroup) doHere(ctx context.Context, key string, fn func(ctx context.Context) *fetchResult) outcome {
	f, joined, late := g.join(key)
	if joined {
		g.mu.Unlock()
		<-f.done
		return outcome{res: f.result, joined: true, late: late}
	}
	f.cancel = func() {}
	g.mu.Unlock()
	g.run(key, f, ctx, fn)
	return outcome{res: f.result, exclusive: f.exclusive}
}

// join returns key's flight, joined when it was already in flight (late
// when its response has arrived), or a new one the caller leads. It
// returns with g.mu held: the leader sets the flight's cancel before
// unlocking.
func (g *flightGroup) join(key string) (f *flight, joined, late bool) {
	g.mu.Lock()
	if g.flights == nil {
		g.flights = make(map[string]*flight)
	}
	f, joined = g.flights[key]
	if joined {
		if f.done == nil {
			f.done = make(chan struct{})
			if f.finished {
				close(f.done)
			}
		}
		f.waiters++
		if g.joined != nil {
			g.joined.Add(1)
		}
		return f, true, f.result != nil
	}
	f = &flight{waiters: 1}
	g.flights[key] = f
	return f, false, false
}

func (g *flightGroup) run(key string, f *flight, ctx context.Context, fn func(ctx context.Context) *fetchResult) {
	res := fn(ctx)
	g.mu.Lock()
	f.result = res
	f.exclusive = f.waiters == 1 && !f.leaderGone
	leaderGone := f.leaderGone
	switch {
	case res.streamed != nil:
		// The trip goes on while its body streams: callers that arrive
		// meanwhile join it and read the body from its start, and its
		// context lives until the body ends (below).
	case res.untouched == nil:
		delete(g.flights, key)
		f.cancel()
	case leaderGone:
		delete(g.flights, key)
		res.release = f.cancel
		res.discard()
	default:
		delete(g.flights, key)
		res.release = f.cancel
	}
	f.finished = true
	if f.done != nil {
		close(f.done)
	}
	g.mu.Unlock()
	if res.streamed != nil {
		res.streamed.OnStop(func() {
			g.forget(key, f)
			f.cancel()
		})
		if leaderGone {
			res.discard()
		}
	}
}

// forget ends f's time in the group, if it is still key's flight.
func (g *flightGroup) forget(key string, f *flight) {
	g.mu.Lock()
	if g.flights[key] == f {
		delete(g.flights, key)
	}
	g.mu.Unlock()
}
