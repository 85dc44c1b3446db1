// Package stores holds where reqcache keeps responses: the Store interface,
// the stored Entry model, and the conformance suite (package storetest) that
// every Store passes. Implementations live in sub-packages: memory (bigcache),
// mongo (MongoDB) and tiered (memory in front of MongoDB).
package stores

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// ModelVersion is the version of the Entry model written by this build.
// Stores that read an entry of another version report ErrCorrupt. Version
// 2 added URIKey and Heuristic: entries written before carry no resource
// name, could never be invalidated by it, and are misses. (Lifetime, which
// grew out of Heuristic, reads version 2 entries: it needed no new
// version.)
const ModelVersion = 2

var (
	// ErrNotFound is returned by Get and GetAlias when nothing is stored
	// under the key (or the entry is past its DiscardAt).
	ErrNotFound = errors.New("reqcache: not found")
	// ErrCorrupt is returned (wrapped) by Get when the stored bytes cannot be
	// decoded or carry an unknown model version. The caller treats it as a
	// miss and deletes the entry.
	ErrCorrupt = errors.New("reqcache: corrupt entry")
	// ErrTooLarge is returned (wrapped) by Set when a store cannot hold an
	// entry that size. The caller treats it as "not cached", not as a failure.
	ErrTooLarge = errors.New("reqcache: entry too large for store")
	// ErrOvertaken is returned (wrapped) by Set when a store shared between
	// processes found, once the entry was written, that another process
	// invalidated its resource after the entry's exchange began
	// (Entry.RequestedAt): the entry is not kept.
	ErrOvertaken = errors.New("reqcache: entry overtaken by another process's invalidation")
	// ErrClosed is returned by every method after Close.
	ErrClosed = errors.New("reqcache: store closed")
)

// Entry is one stored response, with the request that produced it. Request
// fields are stored redacted: credentials never reach a store in the clear.
type Entry struct {
	// Key is the cache key the entry is stored under.
	Key string
	// StatusCode, Header and Body are the response.
	StatusCode int
	Header     http.Header
	Body       []byte
	// Method, URL and RequestHeader describe the request, redacted.
	Method        string
	URL           string
	RequestHeader http.Header
	// RequestedAt is when the request was sent and CreatedAt when the
	// response arrived (RFC 9111 request_time and response_time).
	RequestedAt time.Time
	CreatedAt   time.Time
	// GeneratedAt is when the origin generated the response as the cache
	// reckons it: CreatedAt less the corrected initial age (RFC 9111
	// §4.2.3), set by the session when it writes the entry, so that an
	// answer's Age costs no parsing of Date and Age. It is derived: a
	// store may keep it (the memory and MongoDB stores do) or not, never
	// change it; zero means not known, and readers reckon the age from
	// Header, RequestedAt and CreatedAt.
	GeneratedAt time.Time
	// ExpiresAt is when the entry stops being fresh; zero means never.
	ExpiresAt time.Time
	// DiscardAt is when the entry stops being useful even stale (for
	// revalidation or stale-if-error); zero means keep until evicted. Stores
	// answer ErrNotFound for an entry past it.
	DiscardAt time.Time
	// URIKey names the resource the response is for (scheme, host, path,
	// query without credentials, and the Host it was sent to), whatever
	// the method, variant or principal: DeleteURI removes every entry of a
	// resource at once.
	URIKey string
	// Lifetime is where ExpiresAt came from, decided when the response
	// was stored (LifetimeUnrecorded for entries written before it was
	// recorded).
	Lifetime Lifetime
}

// Heuristic reports whether e's lifetime is a heuristic (RFC 9111
// §4.2.2), not one the response or the settings gave.
func (e *Entry) Heuristic() bool { return e.Lifetime == LifetimeHeuristic }

// Lifetime names where a stored response's freshness lifetime came from:
// the storability decision records it (internal/rules), the debug page and
// exports show it.
type Lifetime uint8

// The sources of a lifetime. Their numbers are stored (the memory store
// keeps them in 4 bits, LifetimeHeuristic where model version 2's
// heuristic bit was): never renumber them.
const (
	// LifetimeUnrecorded: written before the source was recorded.
	LifetimeUnrecorded Lifetime = iota
	// LifetimeHeuristic: 10% of the time since Last-Modified
	// (heuristic_freshness), as nothing gave one.
	LifetimeHeuristic
	// LifetimeNoCache: the response's Cache-Control: no-cache, stale at
	// once.
	LifetimeNoCache
	// LifetimeImmutable: the response's Cache-Control: immutable, never
	// stale.
	LifetimeImmutable
	// LifetimeMaxAge: the response's s-maxage or max-age.
	LifetimeMaxAge
	// LifetimeExpires: the response's Expires, counted from its Date.
	LifetimeExpires
	// LifetimeRequestMaxAge: the request's Cache-Control: max-age.
	LifetimeRequestMaxAge
	// LifetimeOption: WithExpireAfter on the request's context.
	LifetimeOption
	// LifetimeURLRule: a urls_expire_after pattern.
	LifetimeURLRule
	// LifetimeExpireAfter: the expire_after setting (its default, never,
	// included).
	LifetimeExpireAfter
	// LifetimeReset: Cache.ResetExpiration, after it was stored.
	LifetimeReset
	numLifetimes
)

var lifetimeNames = [numLifetimes]string{"", "heuristic", "no-cache", "immutable", "max-age", "expires", "request-max-age", "option", "urls_expire_after", "expire_after", "reset"}

// String is the name exports and the debug page use ("" when unrecorded).
func (l Lifetime) String() string {
	if l < numLifetimes {
		return lifetimeNames[l]
	}
	return fmt.Sprintf("lifetime(%d)", uint8(l))
}

// ParseLifetime is the Lifetime String names; ok is false for a name no
// build of this version wrote.
func ParseLifetime(name string) (l Lifetime, ok bool) {
	for i, n := range lifetimeNames {
		if n == name {
			return Lifetime(i), true
		}
	}
	return LifetimeUnrecorded, false
}

// StoredLifetime reads a lifetime stored by name beside the heuristic flag
// that came before it: a name this build does not know (a newer build's)
// is unrecorded, not an error; a record from before names were written has
// only the flag.
func StoredLifetime(name string, heuristic bool) Lifetime {
	if l, ok := ParseLifetime(name); ok && l != LifetimeUnrecorded {
		return l
	}
	if heuristic {
		return LifetimeHeuristic
	}
	return LifetimeUnrecorded
}

// Valid reports whether l is one of the sources above.
func (l Lifetime) Valid() bool { return l < numLifetimes }

// Expired reports whether e is no longer fresh at now.
func (e *Entry) Expired(now time.Time) bool {
	return !e.ExpiresAt.IsZero() && !now.Before(e.ExpiresAt)
}

// Discarded reports whether e is past its DiscardAt at now.
func (e *Entry) Discarded(now time.Time) bool {
	return !e.DiscardAt.IsZero() && !now.Before(e.DiscardAt)
}

// Size is the approximate number of bytes e takes, body included.
func (e *Entry) Size() int {
	n := len(e.Key) + len(e.Body) + len(e.Method) + len(e.URL) + len(e.URIKey) + 64
	for k, vs := range e.Header {
		n += len(k)
		for _, v := range vs {
			n += len(v)
		}
	}
	for k, vs := range e.RequestHeader {
		n += len(k)
		for _, v := range vs {
			n += len(v)
		}
	}
	return n
}

// Store keeps entries by key, and aliases (one key pointing at another: the
// redirect aliases and Vary indexes of the session). Every method honours its
// context and returns an error rather than panicking; a Store is safe for
// concurrent use.
type Store interface {
	// Get returns the entry under key, ErrNotFound, or an error wrapping
	// ErrCorrupt for bytes that cannot be decoded. The caller owns the
	// returned entry and its Header and RequestHeader maps (every Get
	// returns fresh maps, which the caller may change), but must not write
	// into the Body bytes or into the value slices (they may share memory
	// with the store).
	Get(ctx context.Context, key string) (*Entry, error)
	// Set stores e under e.Key, replacing any previous entry. The store
	// must not keep references to e's maps or slices.
	Set(ctx context.Context, e *Entry) error
	// Delete removes the entries under keys and returns how many existed.
	Delete(ctx context.Context, keys ...string) (int, error)
	// GetAlias returns the value stored under alias, or ErrNotFound.
	GetAlias(ctx context.Context, alias string) (string, error)
	// SetAlias stores value under alias.
	SetAlias(ctx context.Context, alias, value string) error
	// DeleteAlias removes aliases; missing ones are not an error.
	DeleteAlias(ctx context.Context, aliases ...string) error
	// Scan calls fn for every entry, in no particular order, until fn
	// returns false. Entries past DiscardAt are skipped. Entries that
	// cannot be decoded are skipped too (Scan returns no error for them).
	Scan(ctx context.Context, fn func(*Entry) bool) error
	// Len returns the number of entries (aliases not counted).
	Len(ctx context.Context) (int, error)
	// Clear removes every entry and alias.
	Clear(ctx context.Context) error
	// Close releases the store's resources. Calls after Close return
	// ErrClosed; Close itself is idempotent.
	Close() error
}

// Reader is the read half of a Store: what the session's lookup, listing
// and debug page use. Everything that writes or deletes goes through the
// session's one writer (session/writer.go), which alone holds the Store.
type Reader interface {
	Get(ctx context.Context, key string) (*Entry, error)
	GetAlias(ctx context.Context, alias string) (string, error)
	Scan(ctx context.Context, fn func(*Entry) bool) error
	Len(ctx context.Context) (int, error)
}

// Peeker is implemented by stores that can lend a stored entry without
// copying it, for the read-only path of a cache hit. Peek answers like Get,
// except that the entry and everything it references (maps, slices,
// strings) stay shared with the store and with other callers: the caller
// must not modify any of it, and copies what it hands on to be changed.
type Peeker interface {
	Peek(ctx context.Context, key string) (*Entry, error)
}

// AliasScanner is implemented by stores that can list their aliases (for
// Cache.Export: a Vary variant is found through its index). fn is called
// for every alias, in no particular order, until it returns false.
type AliasScanner interface {
	ScanAliases(ctx context.Context, fn func(alias, value string) bool) error
}

// URIIndex is implemented by stores that find what is stored for one
// resource without a scan: the entries listed for it with IndexEntry and
// the aliases set for it with SetAliasFor. An unsafe request uses it to
// make every stored response for its URI unusable (RFC 9111 §4.4), under
// every credential, variant and part; the session lists every entry it
// cannot find again from the URI alone (the entry of an anonymous GET or
// HEAD it can). A store without it is scanned instead.
type URIIndex interface {
	// IndexEntry lists the entry stored under key (after Set) for the
	// resource uriKey, its Entry.URIKey.
	IndexEntry(ctx context.Context, uriKey, key string) error
	// SetAliasFor is SetAlias for an alias that belongs to the resource
	// uriKey: DeleteURI removes it with the resource's entries.
	SetAliasFor(ctx context.Context, uriKey, alias, value string) error
	// DeleteURI removes every entry listed for uriKey and every alias set
	// for it (a store may remove more: every entry whose URIKey it is),
	// and returns how many entries it removed.
	DeleteURI(ctx context.Context, uriKey string) (int, error)
}

// AliasAdder is implemented by stores shared between processes (MongoDB):
// AddAlias sets alias to value unless it is set already, atomically, and
// returns the value the alias holds then (value, or the one another
// process set first), so that processes starting together agree on one
// value (the credential key: two would key the fleet's entries apart).
type AliasAdder interface {
	AddAlias(ctx context.Context, alias, value string) (string, error)
}

// InvalidationFeed is implemented by stores shared between processes
// (MongoDB): every DeleteURI and Clear is published, and a process learns
// what the others invalidated by asking, so that what it keeps in front of
// the shared store (the tiered backend's memory tier) stops answering for
// those resources too.
type InvalidationFeed interface {
	// Invalidations returns what other processes invalidated at or after
	// since, by their clocks, oldest first. An invalidation may come back
	// from a later call: callers skip the IDs they have seen.
	Invalidations(ctx context.Context, since time.Time) ([]Invalidation, error)
}

// ClockSkew is how far apart the clocks of a fleet sharing a store may be
// (docs/mongodb.md#coherence): invalidations are read, and writes checked
// against them, with this much allowance.
const ClockSkew = 5 * time.Second

// InvalidationsKept is how long a shared store keeps the invalidations it
// publishes (InvalidationFeed): a process out of touch for longer than
// half of it cannot know what it missed.
const InvalidationsKept = 2 * time.Minute

// Invalidation is one resource another process made unusable (URIKey),
// or everything (All: a Clear).
type Invalidation struct {
	ID     string
	URIKey string
	All    bool
	At     time.Time
}

// Sizer is implemented by stores that know cheaply (no scan of the
// entries) how many bytes they hold, for metrics.
type Sizer interface {
	Bytes(ctx context.Context) (int64, error)
}

// Leaser is implemented by stores shared between processes (MongoDB): it
// lets one process of a fleet fetch a missing response while the others
// wait for the entry it stores, instead of each asking the origin.
//
// A lease is advisory and bounded in time: a holder that dies simply lets
// it expire. Its errors never fail a request; the session fetches instead.
type Leaser interface {
	// LeaseTimeout is how long a lease lasts; 0 means leases are off.
	LeaseTimeout() time.Duration
	// AcquireLease tries to take the lease on key. Held reports whether
	// the caller now holds it (Token names this holding, for
	// ReleaseLease); otherwise Until is when the current holder's lease
	// ends, and Abandoned that the holder got a response it could not
	// store, so that waiting is pointless.
	AcquireLease(ctx context.Context, key string) (Lease, error)
	// ReleaseLease ends a held lease after the entry was stored (stored
	// true: waiters find it) or not (false: waiters fetch for themselves).
	ReleaseLease(ctx context.Context, key string, l Lease, stored bool) error
}

// Lease is the state of one key's lease, as AcquireLease found it.
type Lease struct {
	Held      bool
	Token     string
	Until     time.Time
	Abandoned bool
}

// Condition selects entries for a server-side delete. Zero fields do not
// constrain; an entry matches when any set field matches it.
type Condition struct {
	// ExpiredAt matches entries already expired at that time: ExpiresAt is
	// set and not after it, as Entry.Expired decides.
	ExpiredAt time.Time
	// CreatedBefore matches entries created before it.
	CreatedBefore time.Time
}

// ConditionalDeleter is implemented by stores that can delete by Condition
// without reading entries back (MongoDB does it on the server).
type ConditionalDeleter interface {
	DeleteWhere(ctx context.Context, c Condition) (int, error)
}

// Matches reports whether e satisfies c.
func (c Condition) Matches(e *Entry) bool {
	if !c.ExpiredAt.IsZero() && e.Expired(c.ExpiredAt) {
		return true
	}
	if !c.CreatedBefore.IsZero() && e.CreatedAt.Before(c.CreatedBefore) {
		return true
	}
	return false
}
