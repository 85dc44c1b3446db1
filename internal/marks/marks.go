// Package marks counts invalidations per bucket of resource names, so that
// a write a trip brings is not made over an invalidation of its resource
// that came after the trip began.
//
// A write races an invalidation of the same resource: the origin may have
// answered the trip before the unsafe request changed it, and the write
// land after the invalidation deleted what was stored — bringing the old
// representation back for good. So an invalidation is marked on its
// resource's bucket before it deletes, and a write made for a trip that
// began before such a mark is not made, or undone when the mark came while
// it was being made (checked again once written: whichever of the delete
// and the write comes last, nothing survives). A bucket shared by two
// resources only ever costs a write.
package marks

import "sync/atomic"

// Marks is safe for concurrent use; its zero value is ready.
type Marks struct {
	count atomic.Uint64
	at    [256]atomic.Uint64
}

// Now is the number of invalidations so far: what a trip records as it
// begins.
func (m *Marks) Now() uint64 { return m.count.Load() }

// Mark records an invalidation of the resource named uri.
func (m *Marks) Mark(uri string) { m.at[bucket(uri)].Store(m.count.Add(1)) }

// Since reports an invalidation of uri's bucket after count was read.
func (m *Marks) Since(uri string, count uint64) bool { return m.at[bucket(uri)].Load() > count }

func bucket(uri string) uint8 {
	h := uint32(2166136261) // FNV-1a
	for i := 0; i < len(uri); i++ {
		h = (h ^ uint32(uri[i])) * 16777619
	}
	return uint8(h)
}
