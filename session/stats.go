package session

import (
	"expvar"
	"math/rand/v2"
	"sync/atomic"

	"go.uber.org/zap"
)

// Stats are a session's counters since it was created.
type Stats struct {
	// Hits are responses served fresh from the cache.
	Hits int64 `json:"hits"`
	// Misses are responses fetched from the origin (stored or not).
	Misses int64 `json:"misses"`
	// Stale are stale responses served (stale-if-error,
	// stale-while-revalidate, max-stale, OnlyIfCached).
	Stale int64 `json:"stale"`
	// Revalidated are 304 answers to conditional requests.
	Revalidated int64 `json:"revalidated"`
	// Coalesced are callers that waited for another caller's request.
	Coalesced int64 `json:"coalesced"`
	// FleetWaits are misses answered from an entry another process
	// sharing the store fetched while this one waited ([mongo] lease);
	// they count as hits too.
	FleetWaits int64 `json:"fleet_waits"`
	// StoreErrors are store operations that failed (the request went on
	// without the cache).
	StoreErrors int64 `json:"store_errors"`
	// Corrupt are stored entries that could not be decoded (deleted).
	Corrupt int64 `json:"corrupt"`
	// Invalidated are entries removed by unsafe requests.
	Invalidated int64 `json:"invalidated"`
	// BytesServed are body bytes served from the cache.
	BytesServed int64 `json:"bytes_served"`
	// InvalidationsUnread is a gauge, 1 while the tiered backend's memory
	// tier cannot read other processes' invalidations (MongoDB down) and
	// answers only within [memory] max_age (docs/mongodb.md#coherence), 0
	// otherwise.
	InvalidationsUnread int64 `json:"invalidations_unread"`
	// SealedElsewhere are stored entries read that were sealed with a key
	// this process does not hold ([encryption]): misses, left in place.
	SealedElsewhere int64 `json:"sealed_elsewhere"`
}

type counters struct {
	// served counts hits and the bytes they serve in stripes: two cores
	// adding to one cache line take turns owning it, which cost parallel
	// hits 10-15% of their throughput (BenchmarkHitParallel).
	served                                                                               [servedStripes]servedStripe
	misses, stale, revalidated, coalesced, fleetWaits, storeErrors, corrupt, invalidated atomic.Int64
}

const servedStripes = 8

type servedStripe struct {
	hits, bytes atomic.Int64
	_           [112]byte // a stripe per 128 bytes: a cache line and the one prefetched with it
}

// serve counts hits (0 or 1) and n body bytes served from the cache (hits
// is 0 for bytes served otherwise, such as a stale or revalidated answer).
func (c *counters) serve(hits, n int64) {
	st := &c.served[rand.Uint32()%servedStripes]
	if hits != 0 {
		st.hits.Add(hits)
	}
	if n != 0 {
		st.bytes.Add(n)
	}
}

// hitsAndBytes sums the stripes.
func (c *counters) hitsAndBytes() (hits, bytes int64) {
	for i := range c.served {
		hits += c.served[i].hits.Load()
		bytes += c.served[i].bytes.Load()
	}
	return hits, bytes
}

// StatsVar returns the session's counters as an expvar.Var, for
// expvar.Publish (and so /debug/vars): a JSON object with the snake_case
// names of Stats' fields.
func (s *Session) StatsVar() expvar.Var { return expvar.Func(func() any { return s.Stats() }) }

// Stats returns the session's counters.
func (s *Session) Stats() Stats {
	c := &s.stats
	hits, bytes := c.hitsAndBytes()
	return Stats{
		Hits: hits, Misses: c.misses.Load(), Stale: c.stale.Load(),
		Revalidated: c.revalidated.Load(), Coalesced: c.coalesced.Load(), FleetWaits: c.fleetWaits.Load(),
		StoreErrors: c.storeErrors.Load(), Corrupt: c.corrupt.Load(),
		Invalidated: c.invalidated.Load(), BytesServed: bytes,
		InvalidationsUnread: s.invalidationsUnread(),
		SealedElsewhere:     s.sealedElsewhere(),
	}
}

// sealedElsewhere is the store's count of entries sealed with a key this
// process does not hold (mongo.Store.ForeignKeyMisses).
func (s *Session) sealedElsewhere() int64 {
	if s.opt.Sealing != nil {
		return s.opt.Sealing.ForeignKeyMisses()
	}
	return 0
}

// invalidationsUnread is 1 for a store that follows other processes'
// invalidations and cannot read them now (tiered.Store.Coherence).
func (s *Session) invalidationsUnread() int64 {
	if s.opt.Follower == nil {
		return 0
	}
	if _, _, degraded := s.opt.Follower.Coherence(); degraded {
		return 1
	}
	return 0
}

// storeError counts and logs a failed store operation (at most once per
// 10 s, with a count).
func (s *Session) storeError(op string, err error) {
	s.stats.storeErrors.Add(1)
	s.errLog.Warn(zap.String("op", op), zap.Error(err))
}
