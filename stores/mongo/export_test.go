package mongo

import "time"

// SetClock makes s read the time from now (leases, the sweeper).
func (s *Store) SetClock(now func() time.Time) { s.now = now }
