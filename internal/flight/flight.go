// Package flight coalesces concurrent calls: callers asking for one key
// while a call for it is in flight wait for that call instead of making
// their own. Unlike x/sync/singleflight, the call runs under its own
// context, so a caller that gives up (cancels) neither fails the others
// nor stops the call; only when every caller has left is it cancelled. A
// result whose body still streams keeps the flight joinable: callers that
// arrive meanwhile read the body from its start.
package flight

import (
	"context"
	"sync"
	"sync/atomic"
)

// Result is what a call returns, as the group needs to see it.
type Result interface {
	// Streaming reports a body still streaming to the callers: the flight
	// stays joinable until it ends, when the body calls the function
	// OnEnd gave it.
	Streaming() bool
	OnEnd(ended func())
	// Holding reports a result holding the upstream's own response, for
	// the caller that made the call alone: SetRelease gives it the
	// function to call when that caller is done with it (it ends the
	// call's context).
	Holding() bool
	SetRelease(release func())
	// Discard drops what nobody will read.
	Discard()
}

// Group runs calls by key. The zero Group is ready to use.
type Group[R Result] struct {
	mu      sync.Mutex
	flights map[string]*call[R]
	// running counts the goroutines Do starts (Wait).
	running sync.WaitGroup
	// Joined, when set, counts callers that joined another caller's
	// flight, when they join (not when the flight ends).
	Joined *atomic.Int64
}

type call[R Result] struct {
	// done is closed when the call has its result (finished). It is made
	// only for a caller that waits: a leader through DoHere alone, the
	// common case, never needs it.
	done       chan struct{} // guarded by Group.mu until closed
	finished   bool          // guarded by Group.mu
	result     R
	waiters    int  // guarded by Group.mu
	leaderGone bool // guarded by Group.mu
	// exclusive is set when the call ends with its leader as its only
	// caller: the leader may then use the result as its own.
	exclusive bool
	cancel    context.CancelFunc
}

// Outcome is what one caller of a flight gets.
type Outcome[R Result] struct {
	Res R
	// Joined: the caller waited for another caller's call.
	Joined bool
	// Exclusive: the leader was the flight's only caller.
	Exclusive bool
	// Late: a caller that joined after the call returned, while its body
	// streams.
	Late bool
}

// Do runs fn once for key among concurrent callers and returns its result.
// The caller whose call started fn is the leader (Joined false). A caller
// whose ctx ends first returns ctx's error; fn keeps running for the others
// and is cancelled when none is left. A streaming result keeps its context
// alive until its body ends; one holding the upstream's response, until
// its release is called.
//
// fn runs on a goroutine of its own so that a leader can leave when its
// ctx ends while others still need the result. (DoHere is the cheaper form
// for a ctx that can never end.)
func (g *Group[R]) Do(ctx context.Context, key string, fn func(ctx context.Context) R) (Outcome[R], error) {
	c, joined, late := g.join(key)
	if !joined {
		c.done = make(chan struct{}) // this leader waits, below
		cctx, cancel := context.WithCancel(detached(ctx))
		c.cancel = cancel
		g.running.Add(1)
		go func() {
			defer g.running.Done()
			g.run(key, c, cctx, fn)
		}()
	}
	g.mu.Unlock()

	select {
	case <-c.done:
		return Outcome[R]{Res: c.result, Joined: joined, Exclusive: !joined && c.exclusive, Late: late}, nil
	case <-ctx.Done():
		g.mu.Lock()
		defer g.mu.Unlock()
		c.waiters--
		select {
		case <-c.done:
			// Finished as we gave up: a body meant for us has no reader.
			if !joined {
				c.result.Discard()
			}
		default:
			if !joined {
				c.leaderGone = true
			}
			if c.waiters == 0 {
				c.cancel()
			}
		}
		return Outcome[R]{Joined: joined}, ctx.Err()
	}
}

// DoHere is Do for a caller whose ctx can never end (ctx.Done() is nil):
// a leader runs fn on its own goroutine, so fn may use memory that does
// not outlive the call, and nothing is ever cancelled. It pays: a quarter
// of a miss's CPU (docs/performance.md, "Miss overhead").
func (g *Group[R]) DoHere(ctx context.Context, key string, fn func(ctx context.Context) R) Outcome[R] {
	c, joined, late := g.join(key)
	if joined {
		g.mu.Unlock()
		<-c.done
		return Outcome[R]{Res: c.result, Joined: true, Late: late}
	}
	c.cancel = nothing
	g.mu.Unlock()
	g.run(key, c, ctx, fn)
	return Outcome[R]{Res: c.result, Exclusive: c.exclusive}
}

// nothing is DoHere's cancel: its call is never cancelled. (A literal in a
// generic function captures its dictionary: an allocation per miss.)
func nothing() {}

// Wait waits for the calls Do started.
func (g *Group[R]) Wait() { g.running.Wait() }

// join returns key's flight, joined when it was already in flight (late
// when its call has returned), or a new one the caller leads. It returns
// with g.mu held: the leader sets the call's cancel before unlocking.
func (g *Group[R]) join(key string) (c *call[R], joined, late bool) {
	g.mu.Lock()
	if g.flights == nil {
		g.flights = make(map[string]*call[R])
	}
	c, joined = g.flights[key]
	if joined {
		if c.done == nil {
			c.done = make(chan struct{})
			if c.finished {
				close(c.done)
			}
		}
		c.waiters++
		if g.Joined != nil {
			g.Joined.Add(1)
		}
		return c, true, c.finished
	}
	c = &call[R]{waiters: 1}
	g.flights[key] = c
	return c, false, false
}

func (g *Group[R]) run(key string, c *call[R], ctx context.Context, fn func(ctx context.Context) R) {
	res := fn(ctx)
	g.mu.Lock()
	c.result = res
	c.exclusive = c.waiters == 1 && !c.leaderGone
	leaderGone := c.leaderGone
	streaming := res.Streaming()
	switch {
	case streaming:
		// The flight goes on while its body streams: callers that arrive
		// meanwhile join it and read the body from its start, and its
		// context lives until the body ends (below).
	case !res.Holding():
		delete(g.flights, key)
		c.cancel()
	case leaderGone:
		delete(g.flights, key)
		res.SetRelease(c.cancel)
		res.Discard()
	default:
		delete(g.flights, key)
		res.SetRelease(c.cancel)
	}
	c.finished = true
	if c.done != nil {
		close(c.done)
	}
	g.mu.Unlock()
	if streaming {
		res.OnEnd(func() {
			g.forget(key, c)
			c.cancel()
		})
		if leaderGone {
			res.Discard()
		}
	}
}

// forget ends c's time in the group, if it is still key's flight.
func (g *Group[R]) forget(key string, c *call[R]) {
	g.mu.Lock()
	if g.flights[key] == c {
		delete(g.flights, key)
	}
	g.mu.Unlock()
}

// detached is ctx without its cancellation and deadline, for a call that
// outlives its leader; ctx itself when it has none (no allocation).
func detached(ctx context.Context) context.Context {
	if ctx.Done() == nil {
		return ctx
	}
	return context.WithoutCancel(ctx)
}
