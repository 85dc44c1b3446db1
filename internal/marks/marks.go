// Package marks is what a process knows of invalidations beyond its store:
// it counts them per bucket of resource names (Marks), so that a write a
// trip brings is not made over an invalidation of its resource that came
// after the trip began, and it holds the resources whose invalidation the
// store could not carry out (Owed).
//
// A write races an invalidation of the same resource: the origin may have
// answered the trip before the unsafe request changed it, and the write
// land after the invalidation deleted what was stored — bringing the old
// representation back for good. So an invalidation is marked on its
// resource's buckets before it deletes, and a write made for a trip that
// began before such a mark is not made, or undone when the mark came while
// it was being made (checked again once written: whichever of the delete
// and the write comes last, nothing survives).
//
// Buckets shared with another resource only ever cost a write, but a lost
// write is a miss the next caller notices: each resource has two buckets
// of 4,096, and a write is refused only when both were marked, so a trip
// that overlaps m invalidations of other resources loses its write with a
// probability of about (2m/4096)²: 0.06% for 50 (one bucket of 256, the
// first version, lost 18%: cache-tests, whose every test sends a PUT,
// failed a different "Response 2 does not come from cache" on each run).
package marks

import (
	"hash/maphash"
	"sync/atomic"
	"time"
)

// buckets is how many buckets resources' names are spread over (32 KiB).
const buckets = 1 << 12

// seed is the process's hash seed: marks never leave the process.
var seed = maphash.MakeSeed()

// Marks is safe for concurrent use; its zero value is ready.
type Marks struct {
	count atomic.Uint64
	at    [buckets]atomic.Uint64
	when  [buckets]atomic.Int64 // the time of each bucket's last mark (Unix ns)
}

// Now is the number of invalidations so far: what a trip records as it
// begins.
func (m *Marks) Now() uint64 { return m.count.Load() }

// Mark records an invalidation of the resource named uri, made at now.
func (m *Marks) Mark(uri string, now time.Time) {
	a, b := pair(uri)
	n := m.count.Add(1)
	m.when[a].Store(now.UnixNano())
	m.when[b].Store(now.UnixNano())
	m.at[a].Store(n)
	m.at[b].Store(n)
}

// MarkedSince reports an invalidation of uri's buckets at or after t, for
// a response that did not come from a trip of this process (an import): one
// that arrived by then is older than the invalidation. (Two marks apart on
// a clock that went back look older than they are: a write lost, never a
// stale one kept.)
func (m *Marks) MarkedSince(uri string, t time.Time) bool {
	a, b := pair(uri)
	tn := t.UnixNano()
	return m.when[a].Load() >= tn && m.when[b].Load() >= tn
}

// Since reports an invalidation of uri's buckets after count was read.
// (A Mark seen half made is seen whole by the check after the write, and
// its delete comes after both: the protocol above still holds.)
func (m *Marks) Since(uri string, count uint64) bool {
	a, b := pair(uri)
	return m.at[a].Load() > count && m.at[b].Load() > count
}

// pair is uri's two buckets, from one 64-bit hash.
func pair(uri string) (uint32, uint32) {
	h := maphash.String(seed, uri)
	return uint32(h) % buckets, uint32(h>>32) % buckets
}
