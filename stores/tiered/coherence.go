package tiered

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/reqcache/reqcache/stores"
)

// Coherence across processes: the memory tier reads, every poll interval,
// what other processes invalidated through the back store
// (stores.InvalidationFeed: MongoDB's events collection) and drops its
// copies of those resources, so that an unsafe request made anywhere in a
// fleet stops every process's memory tier from answering for its resource
// within one interval and a MongoDB round trip. While the events cannot be
// read (MongoDB down or restarting), the memory tier answers only within
// [memory] max_age, and not at all with max_age = 0: it cannot know what
// it missed.

// Every poll reads the events stamped since its previous poll began, less
// stores.ClockSkew, and skips those it has applied.

// WithInvalidationPoll has the memory tier learn other processes'
// invalidations every interval ([memory] invalidation_poll; 0: never,
// leaving [memory] max_age the only bound), when the back store publishes
// them.
func WithInvalidationPoll(every time.Duration) Option {
	return func(s *Store) { s.pollEvery = every }
}

// follower reads the back store's invalidations for the front.
type follower struct {
	feed  stores.InvalidationFeed
	front stores.URIIndex
	every time.Duration
	// synced is when the last poll that succeeded began (unix nanos):
	// every invalidation made before it, less stores.ClockSkew, is applied.
	synced   atomic.Int64
	degraded atomic.Bool
	seen     map[string]time.Time // events applied, by ID, until they leave the window
	stop     chan struct{}
	done     sync.WaitGroup
}

// startFollowing starts the follower when the back publishes
// invalidations and the front can drop a resource.
func (s *Store) startFollowing() {
	feed, ok := s.back.(stores.InvalidationFeed)
	front, ok2 := s.front.(stores.URIIndex)
	if s.pollEvery <= 0 || !ok || !ok2 {
		return
	}
	f := &follower{feed: feed, front: front, every: s.pollEvery, seen: map[string]time.Time{}, stop: make(chan struct{})}
	f.synced.Store(time.Now().UnixNano()) // nothing in front yet: nothing missed
	s.follow = f
	f.done.Add(1)
	go s.followLoop(f)
}

// followLoop polls until Close.
func (s *Store) followLoop(f *follower) {
	defer f.done.Done()
	t := time.NewTicker(f.every)
	defer t.Stop()
	for {
		select {
		case <-f.stop:
			return
		case <-t.C:
		}
		s.poll(f)
	}
}

// poll applies the invalidations made since the last poll that succeeded.
func (s *Store) poll(f *follower) {
	start := time.Now()
	last := time.Unix(0, f.synced.Load())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-f.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	evs, err := f.feed.Invalidations(ctx, last.Add(-stores.ClockSkew))
	if err != nil {
		if !f.degraded.Swap(true) {
			s.log.Warn("reqcache: tiered: cannot read other processes' invalidations; the memory tier answers only within [memory] max_age (not at all with 0) until it can", zap.Error(err))
		}
		return
	}
	if start.Sub(last) > stores.InvalidationsKept/2 {
		// Out of touch for longer than events are kept: some are gone.
		_ = s.front.Clear(ctx)
	}
	for _, ev := range evs {
		if _, ok := f.seen[ev.ID]; ok {
			continue
		}
		f.seen[ev.ID] = ev.At
		done := s.changes.begin() // a fill racing this must not bring the copy back
		if ev.All {
			_ = s.front.Clear(ctx)
		} else if _, err := f.front.DeleteURI(ctx, ev.URIKey); err != nil {
			s.frontFailed("invalidation from another process", err)
		}
		done()
	}
	for id, at := range f.seen {
		if at.Before(last.Add(-2 * stores.ClockSkew)) {
			delete(f.seen, id)
		}
	}
	f.synced.Store(start.UnixNano())
	if f.degraded.Swap(false) {
		s.log.Info("reqcache: tiered: reading other processes' invalidations again")
	}
}

// frontTrusted reports whether the front may answer a copy without
// [memory] max_age: the invalidations made elsewhere up to a poll ago are
// applied. Without a follower the front is trusted as before (max_age is
// the documented bound).
func (s *Store) frontTrusted() bool {
	f := s.follow
	if f == nil {
		return true
	}
	return time.Since(time.Unix(0, f.synced.Load())) <= 2*f.every+time.Second
}

// Coherence reports whether the memory tier follows other processes'
// invalidations (following), and when it last read them (synced): for
// stats and the debug page.
func (s *Store) Coherence() (following bool, synced time.Time, degraded bool) {
	f := s.follow
	if f == nil {
		return false, time.Time{}, false
	}
	return true, time.Unix(0, f.synced.Load()), f.degraded.Load()
}

// stopFollowing ends the follower, at Close.
func (s *Store) stopFollowing() {
	if f := s.follow; f != nil {
		close(f.stop)
		f.done.Wait()
	}
}
