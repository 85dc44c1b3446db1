package stores

import (
	"context"
	"errors"
	"time"
)

// OpObserver is told of every operation of an observed store: its name
// (one of the Op constants), how long it took, and its error (nil for
// success; ErrNotFound is not an error here).
type OpObserver func(ctx context.Context, op string, d time.Duration, err error)

// The names of store operations an OpObserver is told of (session's
// StoreEvent.Op): a small fixed set, fit for a metric label. They are
// untyped strings, so that they go wherever a string does (a metric's
// label values); the wrappers that report them use these constants, so a
// name cannot drift from this list.
const (
	// The Store's own.
	OpGet         = "get"
	OpPeek        = "peek"
	OpSet         = "set"
	OpDelete      = "delete"
	OpGetAlias    = "get_alias"
	OpSetAlias    = "set_alias"
	OpDeleteAlias = "delete_alias"
	OpScan        = "scan"
	OpLen         = "len"
	OpClear       = "clear"
	// The optional interfaces' (Optional.Observed).
	OpIndexEntry   = "index_entry"
	OpSetAliasFor  = "set_alias_for"
	OpDeleteURI    = "delete_uri"
	OpAcquireLease = "acquire_lease"
	OpReleaseLease = "release_lease"
	OpAddAlias     = "add_alias"
	OpScanAliases  = "scan_aliases"
	OpDeleteWhere  = "delete_where"
	OpBytes        = "bytes"
)

// Ops returns every operation name an OpObserver may be told of, for
// those who declare their metrics' label values up front.
func Ops() []string {
	return []string{OpGet, OpPeek, OpSet, OpDelete, OpGetAlias, OpSetAlias, OpDeleteAlias, OpScan, OpLen, OpClear, OpIndexEntry, OpSetAliasFor, OpDeleteURI, OpAcquireLease, OpReleaseLease, OpAddAlias, OpScanAliases, OpDeleteWhere, OpBytes}
}

// Observe wraps st so that fn sees each of its operations (for metrics and
// tracing). The wrapper is a Peeker when st is. Other optional interfaces
// are not forwarded: callers use st itself for them.
func Observe(st Store, fn OpObserver) Store {
	w := observedStore{Store: st, fn: fn}
	if p, ok := st.(Peeker); ok {
		return &observedPeeker{observedStore: w, p: p}
	}
	return &w
}

// observedStore times every operation of a store.
type observedStore struct {
	Store
	fn OpObserver
}

// observedPeeker is observedStore for a store that lends entries.
type observedPeeker struct {
	observedStore
	p Peeker
}

func (w *observedStore) done(ctx context.Context, op string, start time.Time, err error) {
	if errors.Is(err, ErrNotFound) {
		err = nil
	}
	if ctx == nil {
		ctx = context.Background()
	}
	w.fn(ctx, op, time.Since(start), err)
}

func (w *observedPeeker) Peek(ctx context.Context, key string) (*Entry, error) {
	start := time.Now()
	e, err := w.p.Peek(ctx, key)
	w.done(ctx, OpPeek, start, err)
	return e, err
}

func (w *observedStore) Get(ctx context.Context, key string) (*Entry, error) {
	start := time.Now()
	e, err := w.Store.Get(ctx, key)
	w.done(ctx, OpGet, start, err)
	return e, err
}

func (w *observedStore) Set(ctx context.Context, e *Entry) error {
	start := time.Now()
	err := w.Store.Set(ctx, e)
	w.done(ctx, OpSet, start, err)
	return err
}

func (w *observedStore) Delete(ctx context.Context, keys ...string) (int, error) {
	start := time.Now()
	n, err := w.Store.Delete(ctx, keys...)
	w.done(ctx, OpDelete, start, err)
	return n, err
}

func (w *observedStore) GetAlias(ctx context.Context, alias string) (string, error) {
	start := time.Now()
	v, err := w.Store.GetAlias(ctx, alias)
	w.done(ctx, OpGetAlias, start, err)
	return v, err
}

func (w *observedStore) SetAlias(ctx context.Context, alias, value string) error {
	start := time.Now()
	err := w.Store.SetAlias(ctx, alias, value)
	w.done(ctx, OpSetAlias, start, err)
	return err
}

func (w *observedStore) DeleteAlias(ctx context.Context, aliases ...string) error {
	start := time.Now()
	err := w.Store.DeleteAlias(ctx, aliases...)
	w.done(ctx, OpDeleteAlias, start, err)
	return err
}

func (w *observedStore) Scan(ctx context.Context, fn func(*Entry) bool) error {
	start := time.Now()
	err := w.Store.Scan(ctx, fn)
	w.done(ctx, OpScan, start, err)
	return err
}

func (w *observedStore) Len(ctx context.Context) (int, error) {
	start := time.Now()
	n, err := w.Store.Len(ctx)
	w.done(ctx, OpLen, start, err)
	return n, err
}

func (w *observedStore) Clear(ctx context.Context) error {
	start := time.Now()
	err := w.Store.Clear(ctx)
	w.done(ctx, OpClear, start, err)
	return err
}
