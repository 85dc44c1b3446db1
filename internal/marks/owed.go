package marks

import (
	"sync"
	"sync/atomic"
)

// An invalidation the store could not carry out (an outage: its delete
// failed) must not leave the old answer usable. Its resource is owed: every
// entry of it a read finds is refused (a miss) and its deletion tried
// again, until one succeeds. This is one process's knowledge alone.

// MaxOwed bounds an Owed set: past it (an outage through 65,536 unsafe
// requests), every resource is owed until the deletions go through.
const MaxOwed = 1 << 16

// Owed is the resources whose invalidation is owed. Has costs one atomic
// load while it is empty (every hit asks). Safe for concurrent use; its
// zero value is ready.
type Owed struct {
	n    atomic.Int64
	mu   sync.Mutex
	uris map[string]struct{}
	all  bool // past MaxOwed: every resource is owed
}

// Add records that the invalidation of the resource named uri is owed.
func (o *Owed) Add(uri string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.uris == nil {
		o.uris = map[string]struct{}{}
	}
	if len(o.uris) >= MaxOwed {
		o.all = true
	} else {
		o.uris[uri] = struct{}{}
	}
	o.store()
}

// Has reports a resource whose entries may not be used.
func (o *Owed) Has(uri string) bool {
	if o.n.Load() == 0 {
		return false
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	_, ok := o.uris[uri]
	return ok || o.all
}

// Done removes a resource whose entries are now deleted (all of them,
// when the set was full and the last owed resource went).
func (o *Owed) Done(uri string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	delete(o.uris, uri)
	if len(o.uris) == 0 {
		o.all = false
	}
	o.store()
}

// store publishes the set's size for Has's fast path (o.mu held).
func (o *Owed) store() {
	n := int64(len(o.uris))
	if o.all {
		n++
	}
	o.n.Store(n)
}
