package memory

import (
	"net/http"
	"reflect"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/reqcache/reqcache/stores"
)

// hotShards is how many independently locked parts the hot set has, so
// parallel hits on different keys rarely share a lock.
const hotShards = 16

// hotSet keeps recently read entries decoded, so that a repeated Get skips
// bigcache's copy of the encoding and the decoding: it only copies the
// header maps (callers own those) and shares the body, which callers must
// not write to (the Store contract). It is a cache of bigcache, never the
// truth: every Set, Delete, eviction and Clear of bigcache drops the key
// here, and a Get that raced with one of them does not add what it read.
// It is bounded in bytes (a small fraction of max_size_mb); when a shard is
// full, arbitrary entries of it make room.
type hotSet struct {
	// entries is read without locks (parallel hits on one key would
	// otherwise contend on a lock's reader count); writers hold their
	// shard's lock, which also guards the shard's accounting.
	entries  sync.Map // key -> *stores.Entry
	shards   [hotShards]hotShard
	maxBytes int // per shard
	maxEntry int // larger entries are not kept
}

type hotShard struct {
	mu    sync.Mutex
	m     map[string]*stores.Entry // the shard's part of entries
	bytes int
	// gen counts removals: a Get adds what it decoded only when no removal
	// happened in its shard since it started.
	gen atomic.Uint64
}

func newHotSet(totalBytes int) *hotSet {
	h := &hotSet{maxBytes: totalBytes / hotShards}
	h.maxEntry = h.maxBytes / 2
	for i := range h.shards {
		h.shards[i].m = make(map[string]*stores.Entry)
	}
	return h
}

func (h *hotSet) shard(key string) *hotShard {
	// FNV-1a: keys are usually hex digests, but a custom KeyFunc may give
	// anything.
	x := uint32(2166136261)
	for i := 0; i < len(key); i++ {
		x ^= uint32(key[i])
		x *= 16777619
	}
	return &h.shards[x%hotShards]
}

// get returns the entry under key, or nil, and the shard generation to
// hand to add after a miss. The entry is the hot set's own unless owned
// asks for a caller-owned copy.
func (h *hotSet) get(key string, owned bool) (*stores.Entry, uint64) {
	if v, ok := h.entries.Load(key); ok {
		if owned {
			return copyEntry(v.(*stores.Entry)), 0
		}
		return v.(*stores.Entry), 0
	}
	return nil, h.shard(key).gen.Load()
}

// wants reports whether an entry that size is kept at all, so that Get
// copies only those.
func (h *hotSet) wants(e *stores.Entry) bool { return entrySize(e) <= h.maxEntry }

// add keeps e (which the caller must not change afterwards) unless the
// shard changed since gen was read.
func (h *hotSet) add(e *stores.Entry, gen uint64) {
	size := entrySize(e)
	s := h.shard(e.Key)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gen.Load() != gen {
		return
	}
	if old := s.m[e.Key]; old != nil {
		s.bytes -= entrySize(old)
	}
	for k, old := range s.m { // random order: arbitrary victims
		if s.bytes+size <= h.maxBytes {
			break
		}
		delete(s.m, k)
		h.entries.Delete(k)
		s.bytes -= entrySize(old)
	}
	s.m[e.Key] = e
	h.entries.Store(e.Key, e)
	s.bytes += size
}

// remove drops key; it is called for every change to bigcache.
func (h *hotSet) remove(key string) {
	s := h.shard(key)
	s.mu.Lock()
	s.gen.Add(1)
	if old := s.m[key]; old != nil {
		delete(s.m, key)
		h.entries.Delete(key)
		s.bytes -= entrySize(old)
	}
	s.mu.Unlock()
}

func (h *hotSet) clear() {
	for i := range h.shards {
		s := &h.shards[i]
		s.mu.Lock()
		s.gen.Add(1)
		for k := range s.m {
			h.entries.Delete(k)
		}
		clear(s.m)
		s.bytes = 0
		s.mu.Unlock()
	}
}

// entrySize is what an entry costs on the heap, roughly: its encoding plus
// the maps and struct around it.
func entrySize(e *stores.Entry) int {
	return e.Size() + 48*(len(e.Header)+len(e.RequestHeader)) + 256
}

// copyEntry copies e with fresh header maps, in three allocations: the
// entry with the value slices, and the two maps. Body and strings are
// shared (immutable).
func copyEntry(e *stores.Entry) *stores.Entry {
	n := countValues(e.Header) + countValues(e.RequestHeader)
	out, vals := newEntry(n)
	*out = *e
	out.Header, vals = copyHeader(e.Header, vals)
	out.RequestHeader, _ = copyHeader(e.RequestHeader, vals)
	return out
}

func countValues(h http.Header) int {
	n := 0
	for _, vs := range h {
		n += len(vs)
	}
	return n
}

// copyHeader copies h into a new map whose value slices are cut from vals
// with their capacity capped, so appending to one never overwrites another.
func copyHeader(h http.Header, vals []string) (http.Header, []string) {
	out := make(http.Header, len(h))
	for k, vs := range h {
		n := copy(vals, vs)
		out[k] = vals[:n:n]
		vals = vals[n:]
	}
	return out, vals
}

// changed returns the keys of kept entries that differ from what decoding
// their stored bytes gives: entries a caller of Peek wrote to.
func (h *hotSet) changed(stored func(key string) ([]byte, error)) []string {
	var keys []string
	for i := range h.shards {
		s := &h.shards[i]
		s.mu.Lock()
		for k, e := range s.m {
			b, err := stored(k)
			if err != nil {
				continue // removed from bigcache meanwhile (eviction): nothing to compare
			}
			if d, err := decodeOwned(b); err != nil || !reflect.DeepEqual(d, e) {
				keys = append(keys, k)
			}
		}
		s.mu.Unlock()
	}
	sort.Strings(keys)
	return keys
}
