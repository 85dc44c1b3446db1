package stores

import (
	"context"
	"errors"
	"time"
)

// OpObserver is told of every operation of an observed store: its name
// ("get", "peek", "set", "delete", "get_alias", "set_alias",
// "delete_alias", "scan", "len", "clear"), how long it took, and its error
// (nil for success; ErrNotFound is not an error here).
type OpObserver func(ctx context.Context, op string, d time.Duration, err error)

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
	w.done(ctx, "peek", start, err)
	return e, err
}

func (w *observedStore) Get(ctx context.Context, key string) (*Entry, error) {
	start := time.Now()
	e, err := w.Store.Get(ctx, key)
	w.done(ctx, "get", start, err)
	return e, err
}

func (w *observedStore) Set(ctx context.Context, e *Entry) error {
	start := time.Now()
	err := w.Store.Set(ctx, e)
	w.done(ctx, "set", start, err)
	return err
}

func (w *observedStore) Delete(ctx context.Context, keys ...string) (int, error) {
	start := time.Now()
	n, err := w.Store.Delete(ctx, keys...)
	w.done(ctx, "delete", start, err)
	return n, err
}

func (w *observedStore) GetAlias(ctx context.Context, alias string) (string, error) {
	start := time.Now()
	v, err := w.Store.GetAlias(ctx, alias)
	w.done(ctx, "get_alias", start, err)
	return v, err
}

func (w *observedStore) SetAlias(ctx context.Context, alias, value string) error {
	start := time.Now()
	err := w.Store.SetAlias(ctx, alias, value)
	w.done(ctx, "set_alias", start, err)
	return err
}

func (w *observedStore) DeleteAlias(ctx context.Context, aliases ...string) error {
	start := time.Now()
	err := w.Store.DeleteAlias(ctx, aliases...)
	w.done(ctx, "delete_alias", start, err)
	return err
}

func (w *observedStore) Scan(ctx context.Context, fn func(*Entry) bool) error {
	start := time.Now()
	err := w.Store.Scan(ctx, fn)
	w.done(ctx, "scan", start, err)
	return err
}

func (w *observedStore) Len(ctx context.Context) (int, error) {
	start := time.Now()
	n, err := w.Store.Len(ctx)
	w.done(ctx, "len", start, err)
	return n, err
}

func (w *observedStore) Clear(ctx context.Context) error {
	start := time.Now()
	err := w.Store.Clear(ctx)
	w.done(ctx, "clear", start, err)
	return err
}
