package cachekey

import (
	"hash/maphash"
	"net/http"
	"sync/atomic"
)

// A memo of keys: the key of a request without a body, when no header is
// matched, is a pure function of its method, URL and Host, so a URL asked
// for again needs no normalizing and hashing: ~45 ns instead of 250-480
// and an allocation (BenchmarkKey, memo against -computed), on a hit of
// ~4 µs; a URL not remembered pays ~40-75 ns more.
//
// It is a direct-mapped table of immutable entries, read without a lock
// (parallel hits keep scaling) and bounded (memoSlots entries, each
// replaced by the next input that hashes to its slot). An input is
// remembered the second time it is seen in a row in its slot, so that
// URLs asked for once (most misses) cost no allocation.
const memoSlots = 2048

type keyMemo struct {
	seed  maphash.Seed
	slots [memoSlots]memoSlot
}

// memoSlot keeps its two words together: a lookup touches one cache line.
type memoSlot struct {
	entry atomic.Pointer[memoEntry]
	seen  atomic.Uint64 // the hash of the input last seen here
}

// memoInput is everything the key of a body-less request with no matched
// header depends on, as sent: equal inputs have equal keys.
type memoInput struct {
	method, host                                     string
	scheme, opaque, urlHost, path, rawPath, rawQuery string
	forceQuery, omitHost                             bool
}

type memoEntry struct {
	in           memoInput
	key, uri     string // the key without credentials; the URIKey
	queryIgnored bool
}

func memoInputOf(req *http.Request) memoInput {
	u := req.URL
	return memoInput{
		method: Method(req), host: req.Host,
		scheme: u.Scheme, opaque: u.Opaque, urlHost: u.Host, path: u.Path, rawPath: u.RawPath, rawQuery: u.RawQuery,
		forceQuery: u.ForceQuery, omitHost: u.OmitHost,
	}
}

// hash spreads inputs over the slots by the fields that tell URLs apart
// (an entry is only used when every field is equal, so inputs that
// differ elsewhere merely share a slot): three calls, not one per field,
// as this runs on every miss too.
func (m *keyMemo) hash(in *memoInput) uint64 {
	return maphash.String(m.seed, in.path) ^
		maphash.String(m.seed, in.rawQuery)*0x9e3779b97f4a7c15 ^
		maphash.String(m.seed, in.urlHost)*0xc2b2ae3d27d4eb4f
}

// lookup returns the entry remembered for in, or nil; sum is in's hash,
// for remember.
func (m *keyMemo) lookup(in *memoInput) (e *memoEntry, sum uint64) {
	sum = m.hash(in)
	if e = m.slots[sum%memoSlots].entry.Load(); e != nil && e.in == *in {
		return e, sum
	}
	return nil, sum
}

// remember keeps in's key and URI key if in was the last input seen in
// its slot.
func (m *keyMemo) remember(in *memoInput, sum uint64, key, uri string, queryIgnored bool) {
	slot := &m.slots[sum%memoSlots]
	if slot.seen.Load() != sum {
		slot.seen.Store(sum) // first sighting
		return
	}
	slot.entry.Store(&memoEntry{in: *in, key: key, uri: uri, queryIgnored: queryIgnored})
}

// memo returns the Keyer's memo, made at its first use (a Keyer made for
// one redaction never needs one).
func (k *Keyer) memo() *keyMemo {
	if m := k.keyMemo.Load(); m != nil {
		return m
	}
	k.keyMemo.CompareAndSwap(nil, &keyMemo{seed: maphash.MakeSeed()})
	return k.keyMemo.Load()
}
