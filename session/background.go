package session

import (
	"context"
	"sync"
)

// background is the work a session does beyond its callers' requests
// (stale-while-revalidate refreshes, bodies read to the end to be stored
// after their callers left): at most its slots at once — more are refused
// and the caller does without — ended by Close, which waits for it.
type background struct {
	ctx    context.Context // ended by Close
	cancel context.CancelFunc
	slots  chan struct{}
	mu     sync.Mutex // orders start against stop
	closed bool
	wg     sync.WaitGroup
}

func newBackground(slots int) *background {
	b := &background{slots: make(chan struct{}, max(1, slots))}
	b.ctx, b.cancel = context.WithCancel(context.Background())
	return b
}

// start takes a slot for one piece of work; ok is false when every slot
// is busy or the session is closed. done frees the slot.
func (b *background) start() (done func(), ok bool) {
	select {
	case b.slots <- struct{}{}:
	default:
		return nil, false
	}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		<-b.slots
		return nil, false
	}
	b.wg.Add(1)
	b.mu.Unlock()
	return func() {
		<-b.slots
		b.wg.Done()
	}, true
}

// stop refuses new work and ends what runs (its ctx); wait waits for it.
func (b *background) stop() {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	b.cancel()
}

func (b *background) wait() { b.wg.Wait() }
