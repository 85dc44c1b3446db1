// Package background bounds the work a session does beyond its callers'
// requests (stale-while-revalidate refreshes, bodies read to the end to be
// stored after their callers left): at most a number of slots at once —
// more are refused and the caller does without — all of it ended by Stop,
// which Wait then waits for (the RoundTripper's Close stops every
// goroutine it started).
package background

import (
	"context"
	"sync"
)

// Work is a session's background work. Safe for concurrent use.
type Work struct {
	ctx    context.Context // ended by Stop
	cancel context.CancelFunc
	slots  chan struct{}
	mu     sync.Mutex // orders Start against Stop
	closed bool
	wg     sync.WaitGroup
}

// New returns Work with room for slots pieces at once (at least one).
func New(slots int) *Work {
	w := &Work{slots: make(chan struct{}, max(1, slots))}
	w.ctx, w.cancel = context.WithCancel(context.Background())
	return w
}

// Context is ended by Stop: the work's I/O runs under it.
func (w *Work) Context() context.Context { return w.ctx }

// Start takes a slot for one piece of work; ok is false when every slot
// is busy or Stop was called. done frees the slot.
func (w *Work) Start() (done func(), ok bool) {
	select {
	case w.slots <- struct{}{}:
	default:
		return nil, false
	}
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		<-w.slots
		return nil, false
	}
	w.wg.Add(1)
	w.mu.Unlock()
	return func() {
		<-w.slots
		w.wg.Done()
	}, true
}

// Stop refuses new work and ends what runs (its Context).
func (w *Work) Stop() {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
	w.cancel()
}

// Wait waits for every piece started to be done.
func (w *Work) Wait() { w.wg.Wait() }
