package session

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

// The flight group on its own: one call of fn per key among concurrent
// callers, callers that leave, and the trip's context.
func TestFlightGroup(t *testing.T) {
	t.Run("concurrent callers share one call", func(t *testing.T) {
		var g flightGroup
		var calls atomic.Int32
		release := make(chan struct{})
		fn := func(context.Context) *fetchResult {
			calls.Add(1)
			<-release
			return &fetchResult{status: 200}
		}
		outs := make(chan outcome, 3)
		for i := 0; i < 3; i++ {
			go func() {
				o, err := g.do(context.Background(), "k", fn)
				if err != nil {
					t.Error(err)
				}
				outs <- o
			}()
		}
		waitFor(t, func() bool {
			g.mu.Lock()
			defer g.mu.Unlock()
			return g.flights["k"] != nil && g.flights["k"].waiters == 3
		})
		close(release)
		leaders := 0
		for i := 0; i < 3; i++ {
			o := <-outs
			if o.res == nil || o.res.status != 200 {
				t.Fatalf("outcome %+v", o)
			}
			if !o.joined {
				leaders++
			}
		}
		if calls.Load() != 1 || leaders != 1 {
			t.Fatalf("%d calls, %d leaders; want 1 and 1", calls.Load(), leaders)
		}
		g.running.Wait()
	})
	t.Run("a waiter that leaves gets its error, the others the result", func(t *testing.T) {
		var g flightGroup
		release := make(chan struct{})
		fn := func(context.Context) *fetchResult { <-release; return &fetchResult{status: 200} }
		leader := make(chan outcome, 1)
		go func() { o, _ := g.do(context.Background(), "k", fn); leader <- o }()
		waitFor(t, func() bool { g.mu.Lock(); defer g.mu.Unlock(); return g.flights["k"] != nil })
		ctx, cancel := context.WithCancel(context.Background())
		left := make(chan error, 1)
		go func() { _, err := g.do(ctx, "k", fn); left <- err }()
		waitFor(t, func() bool { g.mu.Lock(); defer g.mu.Unlock(); return g.flights["k"].waiters == 2 })
		cancel()
		if err := <-left; !errors.Is(err, context.Canceled) {
			t.Fatalf("the waiter that left got %v", err)
		}
		close(release)
		if o := <-leader; o.res == nil || o.res.status != 200 || o.joined {
			t.Fatalf("the leader got %+v", o)
		}
		g.running.Wait()
	})
	t.Run("when every caller has left, the trip's context ends", func(t *testing.T) {
		var g flightGroup
		ended := make(chan struct{})
		fn := func(ctx context.Context) *fetchResult {
			<-ctx.Done()
			close(ended)
			return &fetchResult{err: ctx.Err()}
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { _, err := g.do(ctx, "k", fn); done <- err }()
		waitFor(t, func() bool { g.mu.Lock(); defer g.mu.Unlock(); return g.flights["k"] != nil })
		cancel()
		<-done
		select {
		case <-ended:
		case <-time.After(5 * time.Second):
			t.Fatal("the trip went on with nobody waiting")
		}
		g.running.Wait()
	})
	t.Run("doHere runs fn on the caller's goroutine and shares it", func(t *testing.T) {
		var g flightGroup
		o := g.doHere(context.Background(), "k", func(context.Context) *fetchResult { return &fetchResult{status: 204} })
		if o.joined || !o.exclusive || o.res.status != 204 {
			t.Fatalf("outcome %+v", o)
		}
		if len(g.flights) != 0 {
			t.Fatal("a finished flight stayed in the group")
		}
	})
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached within 5 s")
		}
		time.Sleep(time.Millisecond)
	}
}
