// Package tiered puts a fast store (bigcache, in this process) in front of
// a shared one (MongoDB): reads are answered by the front when it can, and
// otherwise by the back, whose answer fills the front; writes and deletes go
// to both.
//
// Consistency: within one process a read sees every write and delete made
// before it (read-your-writes). Another process's invalidations (DeleteURI,
// Clear) reach this process's front within one poll (WithInvalidationPoll,
// [memory] invalidation_poll) when the back publishes them (MongoDB does:
// coherence.go). Other changes made elsewhere, and invalidations while they
// cannot be read, reach it at the latest after maxAge (the [memory] max_age
// key): a copy in the front is dropped after that long and read again from
// the back. The back is the truth: Len, Scan and server-side deletes use it.
package tiered

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/reqcache/reqcache/stores"
)

// Store is a front store in front of a back store.
type Store struct {
	front, back stores.Store
	maxAge      time.Duration
	log         *zap.Logger
	now         func() time.Time
	changes     changes
	pollEvery   time.Duration // WithInvalidationPoll
	follow      *follower     // nil: not following other processes (coherence.go)
}

// changes counts the writes and deletes under way and made, so that a read
// of the back fills the front only when none ran beside it: a fill racing
// a delete (an unsafe request's invalidation) would otherwise bring the
// deleted copy back to the front for good.
type changes struct {
	running atomic.Int64
	made    atomic.Uint64
}

// begin marks a change under way; the func it returns marks it made.
func (c *changes) begin() func() {
	c.running.Add(1)
	return func() {
		c.made.Add(1) // before running drops: a reader never sees neither
		c.running.Add(-1)
	}
}

// since reports whether a change ran at some moment after made read seen.
func (c *changes) since(seen uint64) bool {
	return c.running.Load() != 0 || c.made.Load() != seen
}

// Option configures a Store.
type Option func(*Store)

// WithClock sets the clock that dates front copies, for tests.
func WithClock(now func() time.Time) Option { return func(s *Store) { s.now = now } }

// New returns a Store reading front first. maxAge caps how long a copy
// stays in front (0: no cap). The Store owns both: Close closes them.
func New(front, back stores.Store, maxAge time.Duration, logger *zap.Logger, opts ...Option) *Store {
	if logger == nil {
		logger = zap.NewNop()
	}
	s := &Store{front: front, back: back, maxAge: maxAge, log: logger, now: time.Now}
	for _, o := range opts {
		o(s)
	}
	s.startFollowing()
	return s
}

// discardKey keeps an entry's own DiscardAt in its front copy, whose
// DiscardAt is the maxAge cap. It is not a valid header name, so it cannot
// collide with a real request header, and it is removed on every read.
const discardKey = "\x00reqcache-discard-at"

// frontCopy is e as the front keeps it: dropped after maxAge at the latest.
func (s *Store) frontCopy(e *stores.Entry) *stores.Entry {
	if s.maxAge <= 0 {
		return e
	}
	c := *e
	c.RequestHeader = e.RequestHeader.Clone()
	if c.RequestHeader == nil {
		c.RequestHeader = make(map[string][]string, 1)
	}
	own := ""
	if !e.DiscardAt.IsZero() {
		own = e.DiscardAt.Format(time.RFC3339Nano)
	}
	c.RequestHeader[discardKey] = []string{own}
	if limit := s.now().Add(s.maxAge); c.DiscardAt.IsZero() || limit.Before(c.DiscardAt) {
		c.DiscardAt = limit
	}
	return &c
}

// fromFront undoes frontCopy.
func fromFront(e *stores.Entry) *stores.Entry {
	vs, ok := e.RequestHeader[discardKey]
	if !ok {
		return e
	}
	delete(e.RequestHeader, discardKey)
	e.DiscardAt = time.Time{}
	if len(vs) == 1 && vs[0] != "" {
		if t, err := time.Parse(time.RFC3339Nano, vs[0]); err == nil {
			e.DiscardAt = t
		}
	}
	return e
}

func (s *Store) frontFailed(op string, err error) {
	if errors.Is(err, stores.ErrTooLarge) || errors.Is(err, stores.ErrClosed) {
		return
	}
	if ce := s.log.Check(zap.DebugLevel, "reqcache: tiered: memory tier failed"); ce != nil {
		ce.Write(zap.String("op", op), zap.Error(err))
	}
}

// Get implements stores.Store.
func (s *Store) Get(ctx context.Context, key string) (*stores.Entry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if e, err := s.front.Get(ctx, key); err == nil && (s.frontTrusted() || s.maxAge > 0) {
		return fromFront(e), nil // (untrusted, a copy is still within max_age: its DiscardAt)
	} else if errors.Is(err, stores.ErrClosed) {
		return nil, err
	} else if errors.Is(err, stores.ErrCorrupt) {
		_, _ = s.front.Delete(ctx, key)
	}
	seen := s.changes.made.Load()
	e, err := s.back.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	if err := s.front.Set(ctx, s.frontCopy(e)); err != nil {
		s.frontFailed("fill", err)
	} else {
		s.listInFront(ctx, e, "fill")
	}
	if s.changes.since(seen) {
		_, _ = s.front.Delete(ctx, key) // what was read may be what a change removed
	}
	return e, nil
}

// Peek implements stores.Peeker: an entry the front holds as the back
// stored it is lent as is; anything else (a miss in the front, a front copy
// carrying its max_age cap) is a Get.
func (s *Store) Peek(ctx context.Context, key string) (*stores.Entry, error) {
	if p, ok := s.front.(stores.Peeker); ok && s.maxAge <= 0 && s.frontTrusted() {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if e, err := p.Peek(ctx, key); err == nil {
			if _, capped := e.RequestHeader[discardKey]; !capped {
				return e, nil
			}
		}
	}
	return s.Get(ctx, key)
}

// SnapshotRefused is the front's (memory.Store.SnapshotRefused): why its
// snapshot was not loaded and what became of it; nil otherwise.
func (s *Store) SnapshotRefused() error {
	if r, ok := s.front.(interface{ SnapshotRefused() error }); ok {
		return r.SnapshotRefused()
	}
	return nil
}

// CheckLent reports entries Peek lent that a caller has changed since,
// when the front can tell (memory.Store.CheckLent); nil otherwise.
func (s *Store) CheckLent(ctx context.Context) error {
	if c, ok := s.front.(interface{ CheckLent(context.Context) error }); ok {
		return c.CheckLent(ctx)
	}
	return nil
}

// Set implements stores.Store: the back first (the truth), then the front.
func (s *Store) Set(ctx context.Context, e *stores.Entry) error {
	defer s.changes.begin()()
	if err := s.back.Set(ctx, e); err != nil {
		// A front copy would now be stale.
		_, _ = s.front.Delete(ctx, e.Key)
		return err
	}
	if err := s.front.Set(ctx, s.frontCopy(e)); err != nil {
		s.frontFailed("set", err)
	} else {
		s.listInFront(ctx, e, "set")
	}
	return nil
}

// listInFront lists a front copy under its resource, whatever its key: an
// invalidation names only the resource (another process's, read by the
// follower, or this process's DeleteURI), and the session lists only the
// entries it cannot find from the URI alone (found by seed 3010 of the
// model test's fleet mode: a plain GET's copy outlived another process's
// DELETE).
func (s *Store) listInFront(ctx context.Context, e *stores.Entry, op string) {
	if ix, ok := s.front.(stores.URIIndex); ok && e.URIKey != "" {
		if err := ix.IndexEntry(ctx, e.URIKey, e.Key); err != nil {
			s.frontFailed(op, err)
		}
	}
}

// Delete implements stores.Store.
func (s *Store) Delete(ctx context.Context, keys ...string) (int, error) {
	defer s.changes.begin()()
	if _, err := s.front.Delete(ctx, keys...); err != nil {
		s.frontFailed("delete", err)
		if errors.Is(err, stores.ErrClosed) || ctx.Err() != nil {
			return 0, err
		}
	}
	return s.back.Delete(ctx, keys...)
}

// GetAlias implements stores.Store. Aliases are read from the back, with
// the front as a cache of them like of entries (not capped: aliases are
// rewritten, not expired).
func (s *Store) GetAlias(ctx context.Context, alias string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if v, err := s.front.GetAlias(ctx, alias); err == nil {
		return v, nil
	} else if errors.Is(err, stores.ErrClosed) {
		return "", err
	}
	seen := s.changes.made.Load()
	v, err := s.back.GetAlias(ctx, alias)
	if err != nil {
		return "", err
	}
	if s.maxAge <= 0 {
		if err := s.front.SetAlias(ctx, alias, v); err != nil {
			s.frontFailed("fill alias", err)
		}
		if s.changes.since(seen) {
			_ = s.front.DeleteAlias(ctx, alias)
		}
	}
	return v, nil
}

// IndexEntry implements stores.URIIndex: both tiers list it.
func (s *Store) IndexEntry(ctx context.Context, uriKey, key string) error {
	if front, ok := s.front.(stores.URIIndex); ok {
		if err := front.IndexEntry(ctx, uriKey, key); err != nil {
			s.frontFailed("index entry", err)
		}
	}
	back, ok := s.back.(stores.URIIndex)
	if !ok {
		return fmt.Errorf("reqcache: tiered: the back store cannot list entries by resource")
	}
	return back.IndexEntry(ctx, uriKey, key)
}

// SetAliasFor implements stores.URIIndex: both tiers keep the alias for
// its resource.
func (s *Store) SetAliasFor(ctx context.Context, uriKey, alias, value string) error {
	defer s.changes.begin()()
	back, ok := s.back.(stores.URIIndex)
	if !ok {
		return fmt.Errorf("reqcache: tiered: the back store cannot keep aliases by resource")
	}
	if err := back.SetAliasFor(ctx, uriKey, alias, value); err != nil {
		_ = s.front.DeleteAlias(ctx, alias)
		return err
	}
	if front, ok := s.front.(stores.URIIndex); ok {
		if err := front.SetAliasFor(ctx, uriKey, alias, value); err != nil {
			_ = s.front.DeleteAlias(ctx, alias)
			s.frontFailed("set alias", err)
		}
	} else {
		_ = s.front.DeleteAlias(ctx, alias)
	}
	return nil
}

// DeleteURI implements stores.URIIndex: both tiers. Other processes'
// fronts drop their copies when their followers read the back's event
// (coherence.go); without one, at [memory] max_age.
func (s *Store) DeleteURI(ctx context.Context, uriKey string) (int, error) {
	defer s.changes.begin()()
	if ix, ok := s.front.(stores.URIIndex); ok {
		if _, err := ix.DeleteURI(ctx, uriKey); err != nil {
			s.frontFailed("delete uri", err)
		}
	}
	ix, ok := s.back.(stores.URIIndex)
	if !ok {
		return 0, fmt.Errorf("reqcache: tiered: the back store cannot delete by resource")
	}
	return ix.DeleteURI(ctx, uriKey)
}

var _ stores.URIIndex = (*Store)(nil)

// ScanAliases implements stores.AliasScanner with the back's aliases (every
// alias is written there first), when the back can list them.
func (s *Store) ScanAliases(ctx context.Context, fn func(alias, value string) bool) error {
	if sc, ok := s.back.(stores.AliasScanner); ok {
		return sc.ScanAliases(ctx, fn)
	}
	return errors.New("reqcache: the tiered store's back cannot list its aliases")
}

// SetAlias implements stores.Store.
func (s *Store) SetAlias(ctx context.Context, alias, value string) error {
	defer s.changes.begin()()
	if err := s.back.SetAlias(ctx, alias, value); err != nil {
		_ = s.front.DeleteAlias(ctx, alias)
		return err
	}
	if s.maxAge <= 0 {
		if err := s.front.SetAlias(ctx, alias, value); err != nil {
			s.frontFailed("set alias", err)
		}
	}
	return nil
}

// AddAlias implements stores.AliasAdder through the back, when it can add
// atomically (else a set: the back is this process's alone), and keeps the
// value the back holds in front.
func (s *Store) AddAlias(ctx context.Context, alias, value string) (string, error) {
	defer s.changes.begin()()
	v := value
	if a, ok := s.back.(stores.AliasAdder); ok {
		var err error
		if v, err = a.AddAlias(ctx, alias, value); err != nil {
			_ = s.front.DeleteAlias(ctx, alias)
			return "", err
		}
	} else if err := s.back.SetAlias(ctx, alias, value); err != nil {
		_ = s.front.DeleteAlias(ctx, alias)
		return "", err
	}
	if s.maxAge <= 0 {
		if err := s.front.SetAlias(ctx, alias, v); err != nil {
			s.frontFailed("set alias", err)
		}
	} else {
		_ = s.front.DeleteAlias(ctx, alias)
	}
	return v, nil
}

var _ stores.AliasAdder = (*Store)(nil)

// DeleteAlias implements stores.Store.
func (s *Store) DeleteAlias(ctx context.Context, aliases ...string) error {
	defer s.changes.begin()()
	if err := s.front.DeleteAlias(ctx, aliases...); err != nil {
		s.frontFailed("delete alias", err)
		if errors.Is(err, stores.ErrClosed) || ctx.Err() != nil {
			return err
		}
	}
	return s.back.DeleteAlias(ctx, aliases...)
}

// Scan implements stores.Store over the back.
func (s *Store) Scan(ctx context.Context, fn func(*stores.Entry) bool) error {
	return s.back.Scan(ctx, fn)
}

// Len implements stores.Store over the back.
func (s *Store) Len(ctx context.Context) (int, error) { return s.back.Len(ctx) }

// Bytes implements stores.Sizer with the back's size, when it knows it.
func (s *Store) Bytes(ctx context.Context) (int64, error) {
	if sz, ok := s.back.(stores.Sizer); ok {
		return sz.Bytes(ctx)
	}
	return 0, errors.New("reqcache: the tiered store's back does not report its size")
}

// Clear implements stores.Store.
func (s *Store) Clear(ctx context.Context) error {
	defer s.changes.begin()()
	if err := s.front.Clear(ctx); err != nil {
		s.frontFailed("clear", err)
		if errors.Is(err, stores.ErrClosed) || ctx.Err() != nil {
			return err
		}
	}
	return s.back.Clear(ctx)
}

// DeleteWhere implements stores.ConditionalDeleter: the back deletes on
// its side; the front drops its copies of the same entries.
func (s *Store) DeleteWhere(ctx context.Context, c stores.Condition) (int, error) {
	defer s.changes.begin()()
	var frontKeys []string
	_ = s.front.Scan(ctx, func(e *stores.Entry) bool {
		if c.Matches(fromFront(e)) {
			frontKeys = append(frontKeys, e.Key)
		}
		return true
	})
	if len(frontKeys) > 0 {
		_, _ = s.front.Delete(ctx, frontKeys...)
	}
	if cd, ok := s.back.(stores.ConditionalDeleter); ok {
		return cd.DeleteWhere(ctx, c)
	}
	var keys []string
	if err := s.back.Scan(ctx, func(e *stores.Entry) bool {
		if c.Matches(e) {
			keys = append(keys, e.Key)
		}
		return true
	}); err != nil {
		return 0, err
	}
	if len(keys) == 0 {
		return 0, ctx.Err()
	}
	return s.back.Delete(ctx, keys...)
}

// Close implements stores.Store, closing both tiers.
func (s *Store) Close() error {
	s.stopFollowing()
	errFront := s.front.Close()
	errBack := s.back.Close()
	return errors.Join(errFront, errBack)
}

// ForeignKeyMisses is the back's (mongo.Store.ForeignKeyMisses).
func (s *Store) ForeignKeyMisses() int64 {
	if f, ok := s.back.(interface{ ForeignKeyMisses() int64 }); ok {
		return f.ForeignKeyMisses()
	}
	return 0
}

// LeaseTimeout implements stores.Leaser through the back store (0 when it
// has no leases): the fleet coordinates where it shares entries.
func (s *Store) LeaseTimeout() time.Duration {
	if l, ok := s.back.(stores.Leaser); ok {
		return l.LeaseTimeout()
	}
	return 0
}

// AcquireLease implements stores.Leaser through the back store.
func (s *Store) AcquireLease(ctx context.Context, key string) (stores.Lease, error) {
	if l, ok := s.back.(stores.Leaser); ok {
		return l.AcquireLease(ctx, key)
	}
	return stores.Lease{Held: true}, nil
}

// ReleaseLease implements stores.Leaser through the back store.
func (s *Store) ReleaseLease(ctx context.Context, key string, l stores.Lease, stored bool) error {
	if b, ok := s.back.(stores.Leaser); ok {
		return b.ReleaseLease(ctx, key, l, stored)
	}
	return nil
}
