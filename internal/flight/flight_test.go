package flight

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

// result is a Result of a complete call (status), or an error.
type result struct {
	status int
	err    error
}

func (*result) Streaming() bool   { return false }
func (*result) OnEnd(func())      {}
func (*result) Holding() bool     { return false }
func (*result) SetRelease(func()) {}
func (*result) Discard()          {}

// The group: one call of fn per key among concurrent callers, callers that
// leave, and the call's context.
func TestFlightGroup(t *testing.T) {
	t.Run("concurrent callers share one call", func(t *testing.T) {
		var g Group[*result]
		var calls atomic.Int32
		release := make(chan struct{})
		fn := func(context.Context) *result {
			calls.Add(1)
			<-release
			return &result{status: 200}
		}
		outs := make(chan Outcome[*result], 3)
		for i := 0; i < 3; i++ {
			go func() {
				o, err := g.Do(context.Background(), "k", fn)
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
			if o.Res == nil || o.Res.status != 200 {
				t.Fatalf("outcome %+v", o)
			}
			if !o.Joined {
				leaders++
			}
		}
		if calls.Load() != 1 || leaders != 1 {
			t.Fatalf("%d calls, %d leaders; want 1 and 1", calls.Load(), leaders)
		}
		g.Wait()
	})
	t.Run("a waiter that leaves gets its error, the others the result", func(t *testing.T) {
		var g Group[*result]
		release := make(chan struct{})
		fn := func(context.Context) *result { <-release; return &result{status: 200} }
		leader := make(chan Outcome[*result], 1)
		go func() { o, _ := g.Do(context.Background(), "k", fn); leader <- o }()
		waitFor(t, func() bool { g.mu.Lock(); defer g.mu.Unlock(); return g.flights["k"] != nil })
		ctx, cancel := context.WithCancel(context.Background())
		left := make(chan error, 1)
		go func() { _, err := g.Do(ctx, "k", fn); left <- err }()
		waitFor(t, func() bool { g.mu.Lock(); defer g.mu.Unlock(); return g.flights["k"].waiters == 2 })
		cancel()
		if err := <-left; !errors.Is(err, context.Canceled) {
			t.Fatalf("the waiter that left got %v", err)
		}
		close(release)
		if o := <-leader; o.Res == nil || o.Res.status != 200 || o.Joined {
			t.Fatalf("the leader got %+v", o)
		}
		g.Wait()
	})
	t.Run("when every caller has left, the trip's context ends", func(t *testing.T) {
		var g Group[*result]
		ended := make(chan struct{})
		fn := func(ctx context.Context) *result {
			<-ctx.Done()
			close(ended)
			return &result{err: ctx.Err()}
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { _, err := g.Do(ctx, "k", fn); done <- err }()
		waitFor(t, func() bool { g.mu.Lock(); defer g.mu.Unlock(); return g.flights["k"] != nil })
		cancel()
		<-done
		select {
		case <-ended:
		case <-time.After(5 * time.Second):
			t.Fatal("the trip went on with nobody waiting")
		}
		g.Wait()
	})
	t.Run("doHere runs fn on the caller's goroutine and shares it", func(t *testing.T) {
		var g Group[*result]
		o := g.DoHere(context.Background(), "k", func(context.Context) *result { return &result{status: 204} })
		if o.Joined || !o.Exclusive || o.Res.status != 204 {
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

// streamed is a Result whose body streams until end is called.
type streamed struct {
	ended     func()
	release   func()
	holding   bool
	discarded atomic.Bool
}

func (s *streamed) Streaming() bool     { return !s.holding }
func (s *streamed) OnEnd(f func())      { s.ended = f }
func (s *streamed) Holding() bool       { return s.holding }
func (s *streamed) SetRelease(f func()) { s.release = f }
func (s *streamed) Discard()            { s.discarded.Store(true) }

// A streaming result keeps the flight joinable (late) until its body ends,
// and its call's context alive until then; a result holding the upstream's
// response ends the flight at once and its context at release.
func TestStreamingAndHoldingResults(t *testing.T) {
	t.Run("streaming", func(t *testing.T) {
		var g Group[*streamed]
		var callCtx context.Context
		res := &streamed{}
		o := g.DoHere(context.Background(), "k", func(ctx context.Context) *streamed { callCtx = ctx; return res })
		if o.Joined || o.Res != res {
			t.Fatalf("leader: %+v", o)
		}
		late, err := g.Do(context.Background(), "k", func(context.Context) *streamed { t.Fatal("a second call while the body streams"); return nil })
		if err != nil || !late.Joined || !late.Late || late.Res != res {
			t.Fatalf("a caller arriving while the body streams: %+v, %v", late, err)
		}
		res.ended()
		if callCtx.Err() != nil {
			t.Fatal("DoHere's call was cancelled")
		}
		next := g.DoHere(context.Background(), "k", func(context.Context) *streamed { return &streamed{holding: true} })
		if next.Joined {
			t.Fatal("a caller after the body ended joined the old flight")
		}
	})
	t.Run("holding", func(t *testing.T) {
		var g Group[*streamed]
		var callCtx context.Context
		res := &streamed{holding: true}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		o, err := g.Do(ctx, "k", func(ctx context.Context) *streamed { callCtx = ctx; return res })
		if err != nil || o.Res != res || !o.Exclusive {
			t.Fatalf("leader: %+v, %v", o, err)
		}
		if callCtx.Err() != nil || res.release == nil {
			t.Fatal("the call's context ended before its release")
		}
		res.release()
		if callCtx.Err() == nil {
			t.Fatal("release did not end the call's context")
		}
		g.Wait()
	})
}
