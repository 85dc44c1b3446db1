package stores

import (
	"context"
	"slices"
	"testing"
	"time"
)

// everything is a store with every optional interface that does I/O,
// doing nothing.
type everything struct{}

func (everything) Get(context.Context, string) (*Entry, error)                  { return nil, ErrNotFound }
func (everything) Set(context.Context, *Entry) error                            { return nil }
func (everything) Delete(context.Context, ...string) (int, error)               { return 0, nil }
func (everything) GetAlias(context.Context, string) (string, error)             { return "", ErrNotFound }
func (everything) SetAlias(context.Context, string, string) error               { return nil }
func (everything) DeleteAlias(context.Context, ...string) error                 { return nil }
func (everything) Scan(context.Context, func(*Entry) bool) error                { return nil }
func (everything) Len(context.Context) (int, error)                             { return 0, nil }
func (everything) Clear(context.Context) error                                  { return nil }
func (everything) Close() error                                                 { return nil }
func (everything) Peek(context.Context, string) (*Entry, error)                 { return nil, ErrNotFound }
func (everything) IndexEntry(context.Context, string, string) error             { return nil }
func (everything) SetAliasFor(context.Context, string, string, string) error    { return nil }
func (everything) DeleteURI(context.Context, string) (int, error)               { return 0, nil }
func (everything) AddAlias(context.Context, string, string) (string, error)     { return "", nil }
func (everything) ScanAliases(context.Context, func(string, string) bool) error { return nil }
func (everything) Bytes(context.Context) (int64, error)                         { return 0, nil }
func (everything) LeaseTimeout() time.Duration                                  { return time.Second }
func (everything) AcquireLease(context.Context, string) (Lease, error)          { return Lease{}, nil }
func (everything) ReleaseLease(context.Context, string, Lease, bool) error      { return nil }
func (everything) DeleteWhere(context.Context, Condition) (int, error)          { return 0, nil }

// Every operation the observed wrappers report is one of Ops, and every
// one of Ops is reported by some operation: a dashboard that declares its
// labels from Ops sees every operation, and no label stays empty forever.
func TestObservedOperationsAreOps(t *testing.T) {
	ctx := context.Background()
	seen := map[string]int{}
	fn := func(_ context.Context, op string, _ time.Duration, _ error) { seen[op]++ }
	var st everything
	s := Observe(st, fn)
	o := OptionalOf(st).Observed(fn)
	s.Get(ctx, "k")
	s.Set(ctx, &Entry{Key: "k"})
	s.Delete(ctx, "k")
	s.GetAlias(ctx, "a")
	s.SetAlias(ctx, "a", "v")
	s.DeleteAlias(ctx, "a")
	s.Scan(ctx, func(*Entry) bool { return true })
	s.Len(ctx)
	s.Clear(ctx)
	s.(Peeker).Peek(ctx, "k")
	o.Peeker.Peek(ctx, "k")
	o.URIs.IndexEntry(ctx, "u", "k")
	o.URIs.SetAliasFor(ctx, "u", "a", "v")
	o.URIs.DeleteURI(ctx, "u")
	o.Adder.AddAlias(ctx, "a", "v")
	o.Aliases.ScanAliases(ctx, func(string, string) bool { return true })
	o.Sizer.Bytes(ctx)
	l, _ := o.Leaser.AcquireLease(ctx, "k")
	o.Leaser.ReleaseLease(ctx, "k", l, false)
	o.Deleter.DeleteWhere(ctx, Condition{})
	for op := range seen {
		if !slices.Contains(Ops(), op) {
			t.Errorf("operation %q reported, not one of Ops", op)
		}
	}
	for _, op := range Ops() {
		if seen[op] == 0 {
			t.Errorf("%q is one of Ops but no operation reports it", op)
		}
	}
}
