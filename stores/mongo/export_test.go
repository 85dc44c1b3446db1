package mongo

import (
	"context"
	"time"

	"github.com/reqcache/reqcache/stores"
)

// SetClock makes s read the time from now (leases, the sweeper).
func (s *Store) SetClock(now func() time.Time) { s.now = now }

// Publish and OvertakenCheck expose the two costs invalidation events add,
// for BenchmarkEventCosts.
func (s *Store) Publish(ctx context.Context, uri string) error { return s.publish(ctx, uri, false) }
func (s *Store) OvertakenCheck(ctx context.Context, e *stores.Entry) bool {
	return s.invalidatedSince(ctx, e)
}
