package stores

import (
	"context"
	"time"
)

// Optional is what a store can do beyond Store: each of its optional
// interfaces, nil where it has not got one. A caller resolves them once
// (OptionalOf) instead of asserting on every call, and observes them as
// it observes the store (Observed).
type Optional struct {
	Peeker   Peeker
	URIs     URIIndex
	Leaser   Leaser
	Adder    AliasAdder
	Aliases  AliasScanner
	Deleter  ConditionalDeleter
	Sizer    Sizer
	Sealing  SealingReporter
	Follower FollowReporter
}

// SealingReporter is implemented by stores that seal what they store
// ([encryption]) and count the entries they read sealed with a key they
// do not hold (left in place: another process of the fleet holds it).
type SealingReporter interface {
	ForeignKeyMisses() int64
}

// FollowReporter is implemented by stores that keep copies in front of a
// shared store and follow other processes' invalidations (the tiered
// backend): whether they follow, when they last read them, and whether
// they cannot now (degraded: the copies answer only within max_age).
type FollowReporter interface {
	Coherence() (following bool, synced time.Time, degraded bool)
}

// OptionalOf resolves st's optional interfaces.
func OptionalOf(st Store) Optional {
	var o Optional
	o.Peeker, _ = st.(Peeker)
	o.URIs, _ = st.(URIIndex)
	o.Leaser, _ = st.(Leaser)
	o.Adder, _ = st.(AliasAdder)
	o.Aliases, _ = st.(AliasScanner)
	o.Deleter, _ = st.(ConditionalDeleter)
	o.Sizer, _ = st.(Sizer)
	o.Sealing, _ = st.(SealingReporter)
	o.Follower, _ = st.(FollowReporter)
	return o
}

// Observed returns o with fn told of every operation of its interfaces that
// does I/O, as Observe tells of the store's (OpPeek, OpIndexEntry,
// OpSetAliasFor, OpDeleteURI, OpAcquireLease, OpReleaseLease, OpAddAlias,
// OpScanAliases, OpDeleteWhere, OpBytes).
func (o Optional) Observed(fn OpObserver) Optional {
	w := observedStore{fn: fn}
	if o.Peeker != nil {
		o.Peeker = observedLender{w, o.Peeker}
	}
	if o.URIs != nil {
		o.URIs = observedURIs{w, o.URIs}
	}
	if o.Leaser != nil {
		o.Leaser = observedLeaser{w, o.Leaser}
	}
	if o.Adder != nil {
		o.Adder = observedAdder{w, o.Adder}
	}
	if o.Aliases != nil {
		o.Aliases = observedAliases{w, o.Aliases}
	}
	if o.Deleter != nil {
		o.Deleter = observedDeleter{w, o.Deleter}
	}
	if o.Sizer != nil {
		o.Sizer = observedSizer{w, o.Sizer}
	}
	return o
}

type observedLender struct {
	w observedStore
	p Peeker
}

func (o observedLender) Peek(ctx context.Context, key string) (*Entry, error) {
	start := time.Now()
	e, err := o.p.Peek(ctx, key)
	o.w.done(ctx, OpPeek, start, err)
	return e, err
}

type observedURIs struct {
	w  observedStore
	ix URIIndex
}

func (o observedURIs) IndexEntry(ctx context.Context, uriKey, key string) error {
	start := time.Now()
	err := o.ix.IndexEntry(ctx, uriKey, key)
	o.w.done(ctx, OpIndexEntry, start, err)
	return err
}

func (o observedURIs) SetAliasFor(ctx context.Context, uriKey, alias, value string) error {
	start := time.Now()
	err := o.ix.SetAliasFor(ctx, uriKey, alias, value)
	o.w.done(ctx, OpSetAliasFor, start, err)
	return err
}

func (o observedURIs) DeleteURI(ctx context.Context, uriKey string) (int, error) {
	start := time.Now()
	n, err := o.ix.DeleteURI(ctx, uriKey)
	o.w.done(ctx, OpDeleteURI, start, err)
	return n, err
}

type observedLeaser struct {
	w observedStore
	l Leaser
}

func (o observedLeaser) LeaseTimeout() time.Duration { return o.l.LeaseTimeout() }

func (o observedLeaser) AcquireLease(ctx context.Context, key string) (Lease, error) {
	start := time.Now()
	l, err := o.l.AcquireLease(ctx, key)
	o.w.done(ctx, OpAcquireLease, start, err)
	return l, err
}

func (o observedLeaser) ReleaseLease(ctx context.Context, key string, l Lease, stored bool) error {
	start := time.Now()
	err := o.l.ReleaseLease(ctx, key, l, stored)
	o.w.done(ctx, OpReleaseLease, start, err)
	return err
}

type observedAdder struct {
	w observedStore
	a AliasAdder
}

func (o observedAdder) AddAlias(ctx context.Context, alias, value string) (string, error) {
	start := time.Now()
	v, err := o.a.AddAlias(ctx, alias, value)
	o.w.done(ctx, OpAddAlias, start, err)
	return v, err
}

type observedAliases struct {
	w observedStore
	s AliasScanner
}

func (o observedAliases) ScanAliases(ctx context.Context, fn func(alias, value string) bool) error {
	start := time.Now()
	err := o.s.ScanAliases(ctx, fn)
	o.w.done(ctx, OpScanAliases, start, err)
	return err
}

type observedDeleter struct {
	w observedStore
	d ConditionalDeleter
}

func (o observedDeleter) DeleteWhere(ctx context.Context, c Condition) (int, error) {
	start := time.Now()
	n, err := o.d.DeleteWhere(ctx, c)
	o.w.done(ctx, OpDeleteWhere, start, err)
	return n, err
}

type observedSizer struct {
	w observedStore
	s Sizer
}

func (o observedSizer) Bytes(ctx context.Context) (int64, error) {
	start := time.Now()
	n, err := o.s.Bytes(ctx)
	o.w.done(ctx, OpBytes, start, err)
	return n, err
}
