// Package memory is reqcache's in-process store, built on bigcache
// (github.com/allegro/bigcache/v3). Entries are kept as compact binary
// encodings (see Encode and Decode) in bigcache's byte queues, out of the
// garbage collector's sight, and the store is bounded by
// config.Memory.MaxSizeMB: when it is full the oldest entries are evicted.
//
// bigcache has no per-entry lifetime, so an entry's ExpiresAt and DiscardAt
// travel inside its encoding. Get returns entries that are merely expired
// (the caller revalidates them or serves them stale) and answers
// stores.ErrNotFound for an entry past its DiscardAt, deleting it.
//
// Aliases live in a second, small bigcache (1/32 of max_size_mb, at least
// 1 MiB), so they never evict entries and are not counted by Len; the
// index of resources (uris.go) in a third (1/16).
package memory

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"sync"
	"sync/atomic"
	"time"

	"github.com/allegro/bigcache/v3"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/reqcache/reqcache/config"
	"github.com/reqcache/reqcache/internal/seal"
	"github.com/reqcache/reqcache/stores"
)

const (
	// minShardBytes is the smallest shard New makes: with a smaller one
	// (a small max_size_mb and many shards) only tiny entries would fit, so
	// New lowers the shard count instead.
	minShardBytes = 256 << 10
	// aliasShards is the most shards the alias cache gets.
	aliasShards = 16
	// bigcacheOverhead is what bigcache adds to each value: its wrapper
	// (timestamp, hash, key length) plus the queue's length prefix (at most
	// 5 bytes).
	bigcacheOverhead = 8 + 8 + 2 + 5
	// maxKeyLen is the longest key bigcache can hold (its key length is a
	// uint16).
	maxKeyLen = math.MaxUint16
	// maxPooledBuf is the largest encoding buffer Set keeps for reuse.
	maxPooledBuf = 64 << 10
)

// Store is the bigcache-backed stores.Store. It is safe for concurrent use,
// including Close concurrently with calls in flight. Create one with New.
type Store struct {
	c        atomic.Pointer[caches] // nil once closed
	log      *zap.Logger
	maxEntry int // largest value (encoding + key + overhead) one shard takes
	maxAlias int // the same for the alias cache
	shards   int
	bufs     sync.Pool // *[]byte encoding buffers for Set

	// The snapshot ([memory] snapshot): its path, the periodic writer
	// (stopped and waited for by Close), and change counts so that an
	// unchanged store is not written again.
	snapshot     string
	snapStop     chan struct{}
	snapDone     sync.WaitGroup
	snapMu       sync.Mutex
	changes      atomic.Int64
	saved        atomic.Int64
	snapshotOnce sync.Once
	// storedBytes and storedCount are what setEntry stored, for Bytes.
	storedBytes, storedCount atomic.Int64
	// A snapshot that was there and was refused: why and what became of
	// it; kept, it is never written (set when the store opens).
	snapshotRefused error
	snapshotKept    bool
	// ring seals the snapshot's records (WithSeal); nil: in the clear.
	ring *seal.Ring
}

// Option configures a Store.
type Option func(*Store)

// WithSeal seals the snapshot with ring ([encryption]): every record's
// value sealed with its kind and key as additional data, the key id in the
// header. A snapshot in the clear, sealed with a key the ring does not
// hold, or with a record that does not open, is refused (set aside) like
// any unusable one. The entries in memory are not sealed: a hit would pay
// for opening every entry it serves (docs/security.md#sealed).
func WithSeal(ring *seal.Ring) Option {
	return func(s *Store) {
		if ring.Sealing() {
			s.ring = ring
		}
	}
}

type caches struct {
	entries *bigcache.BigCache
	aliases *bigcache.BigCache
	hot     *hotSet   // decoded copies of recently read entries
	uris    *uriIndex // what each resource holds (uris.go)
}

var _ stores.Store = (*Store)(nil)

// New opens an empty memory store sized by cfg: at most about
// cfg.MaxSizeMB MiB in all (0 means the default of config.Default), of which 1/32 (at
// least 1 MiB) holds aliases, in cfg.Shards shards (0 means the default;
// otherwise it must be a power of two). Each shard evicts its oldest
// entries when full, and one entry may take at most half a shard, so the
// largest entry is about MaxSizeMB/Shards/2 MiB (see MaxEntrySize); New
// lowers the shard count when shards would be smaller than 256 KiB. Memory
// is allocated as entries arrive (a few MiB up front), not all at once.
// cfg.MaxAge is not used here (it belongs to the tiered store).
//
// bigcache's own messages go to logger at debug level; a nil logger logs
// nothing.
func New(cfg config.Memory, logger *zap.Logger, opts ...Option) (*Store, error) {
	if logger == nil {
		logger = zap.NewNop()
	}
	// Zero means the default, which lives in config with the others.
	sizeMB, shards := cfg.MaxSizeMB, cfg.Shards
	if sizeMB == 0 {
		sizeMB = config.Default().Memory.MaxSizeMB
	}
	if shards == 0 {
		shards = config.Default().Memory.Shards
	}
	if sizeMB < 0 {
		return nil, fmt.Errorf("reqcache: memory.max_size_mb must be positive, got %d", cfg.MaxSizeMB)
	}
	if sizeMB > math.MaxInt/(1<<20) {
		return nil, fmt.Errorf("reqcache: memory.max_size_mb %d is too large", cfg.MaxSizeMB)
	}
	if shards < 0 || shards&(shards-1) != 0 {
		return nil, fmt.Errorf("reqcache: memory.shards must be a power of two, got %d", cfg.Shards)
	}
	aliasMB := max(1, sizeMB/32)
	indexMB := max(1, sizeMB/16)
	entryMB := max(1, sizeMB-aliasMB-indexMB)
	shards = fitShards(shards, entryMB)

	s := &Store{log: logger, shards: shards}
	for _, o := range opts {
		if o != nil {
			o(s)
		}
	}
	s.maxEntry = entryMB<<20/shards/2 - 1
	aShards := fitShards(aliasShards, aliasMB)
	s.maxAlias = aliasMB<<20/aShards/2 - 1
	bl := bigcacheLogger{logger}
	entries, err := bigcache.New(context.Background(), bigcacheConfig(shards, entryMB, bl))
	if err != nil {
		return nil, fmt.Errorf("reqcache: memory store: %w", err)
	}
	aliases, err := bigcache.New(context.Background(), bigcacheConfig(aShards, aliasMB, bl))
	if err != nil {
		entries.Close()
		return nil, fmt.Errorf("reqcache: memory store aliases: %w", err)
	}
	uris := newURIIndex()
	// A record evicted for room takes its members with it (uris.go).
	rcfg := bigcacheConfig(fitShards(aliasShards, indexMB), indexMB, bl)
	rcfg.OnRemoveWithReason = uris.evicted
	records, err := bigcache.New(context.Background(), rcfg.OnRemoveFilterSet(bigcache.NoSpace))
	if err != nil {
		entries.Close()
		aliases.Close()
		return nil, fmt.Errorf("reqcache: memory store index: %w", err)
	}
	hot := newHotSet(hotBytes(entryMB))
	uris.records, uris.entries, uris.aliases, uris.hot = records, entries, aliases, hot
	s.c.Store(&caches{entries: entries, aliases: aliases, hot: hot, uris: uris})
	if cfg.Snapshot != "" {
		path, err := expandHome(cfg.Snapshot)
		if err != nil {
			entries.Close()
			aliases.Close()
			records.Close()
			return nil, err
		}
		if err := checkSnapshotPath(path); err != nil {
			entries.Close()
			aliases.Close()
			records.Close()
			return nil, err
		}
		s.snapshot = path
		s.loadSnapshot(path, time.Now())
		s.saved.Store(s.changes.Load()) // what was loaded needs no writing back
		if iv := cfg.SnapshotInterval.Std(); iv > 0 {
			s.snapStop = make(chan struct{})
			s.snapDone.Add(1)
			go func() {
				defer s.snapDone.Done()
				s.snapshotEvery(path, iv, s.snapStop)
			}()
		}
	}
	if ce := logger.Check(zap.DebugLevel, "reqcache: memory store opened"); ce != nil {
		ce.Write(zap.Int("max_size_mb", sizeMB), zap.Int("shards", shards), zap.Int("max_entry_bytes", s.MaxEntrySize()))
	}
	return s, nil
}

// hotBytes is the heap the hot set may take: 1/16 of the store, at most
// 32 MiB.
func hotBytes(entryMB int) int { return min(entryMB<<20/16, 32<<20) }

// fitShards lowers shards (a power of two) until each of sizeMB/shards is
// at least minShardBytes, keeping at least one shard.
func fitShards(shards, sizeMB int) int {
	most := sizeMB << 20 / minShardBytes
	if most < 1 {
		return 1
	}
	if shards > most {
		shards = 1 << (bits.Len(uint(most)) - 1)
	}
	return shards
}

func bigcacheConfig(shards, sizeMB int, l bigcache.Logger) bigcache.Config {
	return bigcache.Config{
		Shards: shards,
		// No lifetime: entries leave only when evicted for space, deleted,
		// or found past their DiscardAt.
		LifeWindow:  time.Duration(math.MaxInt64),
		CleanWindow: 0,
		// Only used for the initial allocation: 10 entries of 1 KiB per
		// shard (bigcache's DefaultConfig would preallocate ~300 MB).
		MaxEntriesInWindow: shards * 10,
		MaxEntrySize:       1 << 10,
		HardMaxCacheSize:   sizeMB,
		Verbose:            false,
		Logger:             l,
	}
}

// bigcacheLogger routes bigcache's messages to zap at debug level, so that
// bigcache never writes to stdout or stderr itself.
type bigcacheLogger struct{ l *zap.Logger }

func (b bigcacheLogger) Printf(format string, v ...any) {
	if ce := b.l.Check(zapcore.DebugLevel, "reqcache: bigcache"); ce != nil {
		ce.Write(zap.String("detail", fmt.Sprintf(format, v...)))
	}
}

// MaxEntrySize returns the largest encoding (see EncodedLen) plus key
// length that Set accepts; larger entries get stores.ErrTooLarge.
func (s *Store) MaxEntrySize() int { return max(0, s.maxEntry-bigcacheOverhead) }

// open returns the live caches, or an error for a cancelled context or a
// closed store.
func (s *Store) open(ctx context.Context) (*caches, error) {
	if ctx != nil {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	c := s.c.Load()
	if c == nil {
		return nil, stores.ErrClosed
	}
	return c, nil
}

// Get returns the entry under key: stores.ErrNotFound when there is none
// or it is past its DiscardAt (it is then deleted), an error wrapping
// stores.ErrCorrupt when the stored bytes do not decode (the caller deletes
// it). Expired entries are returned. The entry and its header maps are the
// caller's; its Body and strings are shared and must not be written to.
// A first read decodes bigcache's private copy in place (see DecodeOwned);
// repeated reads of an entry are answered from a bounded set of decoded
// copies (1/16 of the store, at most 32 MiB) that every Set, Delete and
// Clear updates, which saves bigcache's copy and the decoding.
func (s *Store) Get(ctx context.Context, key string) (*stores.Entry, error) {
	return s.get(ctx, key, true)
}

// Peek implements stores.Peeker: a repeated read of an entry returns the
// decoded entry the store keeps, without copying its header maps.
func (s *Store) Peek(ctx context.Context, key string) (*stores.Entry, error) {
	return s.get(ctx, key, false)
}

func (s *Store) get(ctx context.Context, key string, owned bool) (*stores.Entry, error) {
	c, err := s.open(ctx)
	if err != nil {
		return nil, err
	}
	if len(key) > maxKeyLen {
		return nil, stores.ErrNotFound
	}
	e, gen := c.hot.get(key, owned)
	if e != nil {
		if !e.DiscardAt.IsZero() && e.Discarded(time.Now()) {
			_ = c.entries.Delete(key)
			c.hot.remove(key)
			return nil, stores.ErrNotFound
		}
		return e, nil
	}
	b, err := c.entries.Get(key)
	if err != nil {
		// bigcache.ErrEntryNotFound, or a queue error for an index that
		// Clear has just reset: a miss either way.
		return nil, stores.ErrNotFound
	}
	e, err = decodeOwned(b) // b is bigcache's fresh copy: ours alone
	if err == nil && e.Key != key {
		err = fmt.Errorf("%w: entry holds key %q", stores.ErrCorrupt, e.Key)
	}
	if err != nil {
		if ce := s.log.Check(zap.DebugLevel, "reqcache: memory store: corrupt entry"); ce != nil {
			ce.Write(zap.String("key", key), zap.Error(err))
		}
		return nil, err
	}
	if !e.DiscardAt.IsZero() && e.Discarded(time.Now()) {
		_ = c.entries.Delete(key)
		return nil, stores.ErrNotFound
	}
	if c.hot.wants(e) {
		if !owned {
			c.hot.add(e, gen) // shared from now on, as Peek allows
			return e, nil
		}
		c.hot.add(copyEntry(e), gen)
	}
	return e, nil
}

// CheckLent reports, as an error naming their keys, the entries Peek lent
// that a caller has changed since: the kept decoded copies that no longer
// equal their stored bytes. Peek's callers promise not to write to what it
// returns; tests hold them to it with this (the session's model-based test
// calls it after every round). It locks each part of the store in turn.
func (s *Store) CheckLent(ctx context.Context) error {
	c, err := s.open(ctx)
	if err != nil {
		return err
	}
	if keys := c.hot.changed(c.entries.Get); len(keys) > 0 {
		return fmt.Errorf("reqcache: memory store: %d lent entries changed by a caller: %q", len(keys), keys)
	}
	return nil
}

// Set stores e under e.Key, replacing any previous entry. An entry too big
// for a shard (see MaxEntrySize) is not stored, any previous entry under
// the key is removed, and Set returns an error wrapping stores.ErrTooLarge.
func (s *Store) Set(ctx context.Context, e *stores.Entry) error {
	c, err := s.open(ctx)
	if err != nil {
		return err
	}
	s.changes.Add(1)
	if e == nil {
		return errors.New("reqcache: memory store: Set of a nil entry")
	}
	if len(e.Key) > maxKeyLen {
		return s.tooLarge(e, len(e.Key), fmt.Errorf("%w: key of %d bytes (at most %d)", stores.ErrTooLarge, len(e.Key), maxKeyLen))
	}
	m, values := metaLen(e)
	n := encodedLen(m, len(e.Body))
	if size := n + len(e.Key) + bigcacheOverhead; size > s.maxEntry {
		_ = c.entries.Delete(e.Key)
		c.hot.remove(e.Key)
		return s.tooLarge(e, size, fmt.Errorf("%w: %d bytes, the memory store takes at most %d per entry", stores.ErrTooLarge, size-bigcacheOverhead, s.MaxEntrySize()))
	}
	bp, _ := s.bufs.Get().(*[]byte)
	if bp == nil || cap(*bp) < n {
		bp = new([]byte)
		*bp = make([]byte, 0, max(n, 4<<10))
	}
	buf := appendEncoded((*bp)[:0], e, m, values)
	err = s.setEntry(c, e.Key, buf) // copies buf
	c.hot.remove(e.Key)
	if cap(buf) <= maxPooledBuf {
		*bp = buf[:0]
		s.bufs.Put(bp)
	}
	if err != nil {
		// Not expected after the size check above; bigcache's only Set
		// error is "entry is bigger than max shard size".
		return s.tooLarge(e, n, fmt.Errorf("%w: %w", stores.ErrTooLarge, err))
	}
	return nil
}

func (s *Store) tooLarge(e *stores.Entry, size int, err error) error {
	if ce := s.log.Check(zap.DebugLevel, "reqcache: memory store: entry too large, not stored"); ce != nil {
		ce.Write(zap.String("url", e.URL), zap.Int("bytes", size), zap.Int("max_bytes", s.MaxEntrySize()))
	}
	return err
}

// Delete removes the entries under keys and returns how many existed.
func (s *Store) Delete(ctx context.Context, keys ...string) (int, error) {
	c, err := s.open(ctx)
	if err != nil {
		return 0, err
	}
	s.changes.Add(1)
	n := 0
	for _, k := range keys {
		if len(k) > maxKeyLen {
			continue
		}
		c.hot.remove(k)
		if c.entries.Delete(k) == nil {
			n++
		}
	}
	return n, nil
}

// GetAlias returns the value stored under alias, or stores.ErrNotFound.
func (s *Store) GetAlias(ctx context.Context, alias string) (string, error) {
	c, err := s.open(ctx)
	if err != nil {
		return "", err
	}
	if len(alias) > maxKeyLen {
		return "", stores.ErrNotFound
	}
	b, err := c.aliases.Get(alias)
	if err != nil {
		return "", stores.ErrNotFound
	}
	return string(b), nil
}

// SetAlias stores value under alias. Aliases are evicted oldest first when
// their cache is full; one too large for it returns an error wrapping
// stores.ErrTooLarge.
func (s *Store) SetAlias(ctx context.Context, alias, value string) error {
	c, err := s.open(ctx)
	if err != nil {
		return err
	}
	s.changes.Add(1)
	if len(alias) > maxKeyLen || len(alias)+len(value)+bigcacheOverhead > s.maxAlias {
		_ = c.aliases.Delete(alias)
		return fmt.Errorf("%w: alias of %d bytes", stores.ErrTooLarge, len(alias)+len(value))
	}
	if err := c.aliases.Set(alias, []byte(value)); err != nil {
		return fmt.Errorf("%w: %w", stores.ErrTooLarge, err)
	}
	return nil
}

// ScanAliases implements stores.AliasScanner.
func (s *Store) ScanAliases(ctx context.Context, fn func(alias, value string) bool) error {
	c, err := s.open(ctx)
	if err != nil {
		return err
	}
	it := c.aliases.Iterator()
	for it.SetNext() {
		if err := ctx.Err(); err != nil {
			return err
		}
		info, err := it.Value()
		if err != nil {
			continue // evicted while iterating
		}
		if !fn(info.Key(), string(info.Value())) {
			return nil
		}
	}
	return nil
}

// DeleteAlias removes aliases; missing ones are not an error.
func (s *Store) DeleteAlias(ctx context.Context, aliases ...string) error {
	c, err := s.open(ctx)
	if err != nil {
		return err
	}
	s.changes.Add(1)
	for _, a := range aliases {
		if len(a) <= maxKeyLen {
			_ = c.aliases.Delete(a)
		}
	}
	return nil
}

// Scan calls fn for every entry until fn returns false. Entries past their
// DiscardAt and entries that do not decode are skipped. Entries set or
// deleted during a Scan may or may not be visited. Scan returns ctx's
// error if it is cancelled, and stores.ErrClosed if the store is closed
// meanwhile.
func (s *Store) Scan(ctx context.Context, fn func(*stores.Entry) bool) error {
	c, err := s.open(ctx)
	if err != nil {
		return err
	}
	now := time.Now()
	it := c.entries.Iterator()
	for it.SetNext() {
		if _, err := s.open(ctx); err != nil {
			return err
		}
		info, err := it.Value()
		if err != nil {
			continue
		}
		e, err := decodeShared(info.Value())
		if err != nil || e.Key != info.Key() {
			if ce := s.log.Check(zap.DebugLevel, "reqcache: memory store: scan skips a corrupt entry"); ce != nil {
				ce.Write(zap.String("key", info.Key()), zap.Error(err))
			}
			continue
		}
		if e.Discarded(now) {
			continue
		}
		if !fn(e) {
			return nil
		}
	}
	return nil
}

// Len returns the number of entries (aliases not counted). Entries past
// their DiscardAt that no Get or Scan has removed yet are counted.
func (s *Store) Len(ctx context.Context) (int, error) {
	c, err := s.open(ctx)
	if err != nil {
		return 0, err
	}
	return c.entries.Len(), nil
}

// Bytes implements stores.Sizer: about the bytes the stored entries hold
// (their encodings and keys), as their number times the mean size of the
// entries stored so far — exact for entries of one size. No scan, and
// nothing on the paths that store and remove: bigcache tells neither the
// size of an entry it replaces nor, without copying it, of one it removes.
// What bigcache has allocated is Allocated.
func (s *Store) Bytes(ctx context.Context) (int64, error) {
	c, err := s.open(ctx)
	if err != nil {
		return 0, err
	}
	n, stored := int64(c.entries.Len()), s.storedCount.Load()
	if stored == 0 {
		return 0, nil
	}
	return n * s.storedBytes.Load() / stored, nil
}

// Allocated is the memory bigcache has allocated for entries and aliases:
// it grows with use up to max_size_mb and does not shrink when entries are
// deleted.
func (s *Store) Allocated(ctx context.Context) (int64, error) {
	c, err := s.open(ctx)
	if err != nil {
		return 0, err
	}
	return int64(c.entries.Capacity() + c.aliases.Capacity()), nil
}

// setEntry stores an encoding under key, counted for Bytes' mean.
func (s *Store) setEntry(c *caches, key string, value []byte) error {
	if err := c.entries.Set(key, value); err != nil {
		return err
	}
	s.storedBytes.Add(int64(len(key) + len(value)))
	s.storedCount.Add(1)
	return nil
}

// Clear removes every entry and alias.
func (s *Store) Clear(ctx context.Context) error {
	c, err := s.open(ctx)
	if err != nil {
		return err
	}
	s.changes.Add(1)
	_ = c.entries.Reset()
	s.storedBytes.Store(0)
	s.storedCount.Store(0)
	c.hot.clear()
	_ = c.aliases.Reset()
	_ = c.uris.records.Reset()
	return nil
}

// Close releases the store: its memory is freed once calls in flight
// return. Later calls return stores.ErrClosed; Close itself is idempotent.
func (s *Store) Close() error {
	var err error
	if s.snapshot != "" {
		// The periodic writer stops first; then the last write, while the
		// caches are still open.
		s.snapshotOnce.Do(func() {
			if s.snapStop != nil {
				close(s.snapStop)
				s.snapDone.Wait()
			}
			err = s.saveSnapshot(s.snapshot)
		})
	}
	if c := s.c.Swap(nil); c != nil {
		c.hot.clear()
		_ = c.entries.Close()
		_ = c.aliases.Close()
		_ = c.uris.records.Close()
	}
	return err
}
