package mongo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.uber.org/zap"

	"github.com/reqcache/reqcache/stores"
)

// This file holds what the processes sharing one collection coordinate
// through it: leases on keys being fetched (stores.Leaser) and the sweeper
// that removes expired entries and the GridFS bodies nothing refers to.
//
// A lease is a document {_id: key, token, until, state} in the
// <collection>_leases collection. The unique _id makes taking it atomic;
// until bounds it, so a holder that dies only delays the others; state
// "abandoned" tells waiters the holder got a response it may not store.
// A take-over leaves a marker document {_id: key@old-token} until it ends.
// Times are the processes' own clocks: they must agree to well within a
// lease (NTP does).

const (
	leaseFetching  = "fetching"
	leaseAbandoned = "abandoned"
	// sweeperLease is the lease the sweeping process holds for one
	// interval; keys are hex digests, so it cannot name one.
	sweeperLease = "sweeper"
	// orphanAge is how old a GridFS body must be before the sweeper may
	// delete it for want of an entry: Set writes the body first.
	orphanAge = 10 * time.Minute
	// staleLeaseAge is how long after its end a lease document stays.
	staleLeaseAge = time.Minute
)

type leaseDoc struct {
	ID    string    `bson:"_id"`
	Token string    `bson:"token"`
	Until time.Time `bson:"until"`
	State string    `bson:"state"`
}

// LeaseTimeout implements stores.Leaser: [mongo] lease, 0 when off.
func (s *Store) LeaseTimeout() time.Duration { return s.lease }

// AcquireLease implements stores.Leaser.
func (s *Store) AcquireLease(ctx context.Context, key string) (stores.Lease, error) {
	return s.acquire(ctx, key, s.lease)
}

func (s *Store) acquire(ctx context.Context, key string, d time.Duration) (stores.Lease, error) {
	c, cancel, err := s.op(ctx)
	if err != nil {
		return stores.Lease{}, err
	}
	defer cancel()
	token := newToken()
	for try := 0; try < 3; try++ {
		now := s.now()
		mine := leaseDoc{ID: key, Token: token, Until: now.Add(d).UTC(), State: leaseFetching}
		_, err := s.leases.InsertOne(c, mine)
		if err == nil {
			return stores.Lease{Held: true, Token: token, Until: mine.Until}, nil
		}
		if !mongo.IsDuplicateKeyError(err) {
			return stores.Lease{}, s.check(ctx, err)
		}
		var cur leaseDoc
		err = s.leases.FindOne(c, bson.D{{Key: "_id", Value: key}}).Decode(&cur)
		if errors.Is(err, mongo.ErrNoDocuments) {
			continue // released in between: try again
		}
		if err != nil {
			return stores.Lease{}, s.check(ctx, err)
		}
		if now.Before(cur.Until) {
			// Waited for no longer than this process's own lease: a
			// document's end is another clock's, another setting's, or
			// planted (an hour).
			return stores.Lease{Until: earlier(cur.Until, mine.Until), Abandoned: cur.State == leaseAbandoned}, nil
		}
		// The holder's time is up: take the lease over. Only the process
		// that inserts the take-over marker of this holding may: a unique
		// _id is the one atomic step every server provides (FerretDB's
		// conditional updates are not atomic under concurrency).
		marker := leaseDoc{ID: key + "@" + cur.Token, Token: token, Until: mine.Until, State: "takeover"}
		if _, err := s.leases.InsertOne(c, marker); err != nil {
			if !mongo.IsDuplicateKeyError(err) {
				return stores.Lease{}, s.check(ctx, err)
			}
			// Another process is taking it over — or took it over and
			// stopped half-way (its caller gone between the marker and
			// the lease): a marker past its own end is cleared, and the
			// take-over tried again, so that no key stays unacquirable.
			var other leaseDoc
			if err := s.leases.FindOne(c, bson.D{{Key: "_id", Value: marker.ID}}).Decode(&other); err == nil && !now.Before(other.Until) {
				_, _ = s.leases.DeleteOne(c, bson.D{{Key: "_id", Value: marker.ID}, {Key: "token", Value: other.Token}})
				continue
			}
			return stores.Lease{Until: mine.Until}, nil
		}
		// The marker is in: finish the take-over whatever the caller does
		// now, within op_timeout (a half-made one is what the marker's
		// end clears, a lease later).
		fc, fcancel := context.WithTimeout(context.WithoutCancel(c), s.opTimeout)
		_, err = s.leases.ReplaceOne(fc, bson.D{{Key: "_id", Value: key}}, mine, options.Replace().SetUpsert(true))
		fcancel()
		if err != nil {
			return stores.Lease{}, s.check(ctx, err)
		}
		return stores.Lease{Held: true, Token: token, Until: mine.Until}, nil
	}
	return stores.Lease{}, errors.New("reqcache: mongo: lease contended")
}

// ReleaseLease implements stores.Leaser. A lease that was taken over
// (its token changed) is left to its new holder.
func (s *Store) ReleaseLease(ctx context.Context, key string, l stores.Lease, stored bool) error {
	c, cancel, err := s.op(ctx)
	if err != nil {
		return err
	}
	defer cancel()
	mine := bson.D{{Key: "_id", Value: key}, {Key: "token", Value: l.Token}}
	if stored {
		_, err = s.leases.DeleteOne(c, mine)
	} else {
		// Kept until it ends, so that processes that miss meanwhile do
		// not wait for a response that will not be stored.
		_, err = s.leases.UpdateOne(c, mine, bson.D{{Key: "$set", Value: bson.D{{Key: "state", Value: leaseAbandoned}}}})
	}
	return s.check(ctx, err)
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func newToken() string {
	b := make([]byte, 12)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// sweepLoop runs the sweeper every interval until Close. Each process
// tries; the one that takes the sweeper lease (held for one interval)
// sweeps, so the fleet sweeps once per interval.
func (s *Store) sweepLoop(retention, interval time.Duration) {
	defer s.sweeping.Done()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			select {
			case <-s.stop:
				cancel()
			case <-ctx.Done():
			}
		}()
		l, err := s.acquire(ctx, sweeperLease, interval*9/10)
		if err == nil && l.Held {
			var expiredBefore time.Time // retention 0: expired entries stay
			if retention > 0 {
				expiredBefore = s.now().Add(-retention)
			}
			n, err := s.Sweep(ctx, expiredBefore)
			if err != nil {
				s.log.Warn("reqcache: mongo sweep failed", zap.Error(err))
			} else if ce := s.log.Check(zap.DebugLevel, "reqcache: mongo sweep"); ce != nil {
				ce.Write(zap.Int("deleted", n))
			}
		}
		cancel()
	}
}

// Sweep deletes the entries that expired at or before expiredBefore (none
// for a zero time) or are past their discard time, the GridFS bodies no
// entry refers to (left by the TTL index, by a write racing a delete of
// its key, or by a process that died between writing a body and its
// entry), leases long over, and invalidation events older than an hour
// (events.go). It returns the number of entries deleted.
// The sweeper calls it with now minus retention (zero with retention 0);
// DeleteWhere (reqcache rm -expired) takes the same path.
func (s *Store) Sweep(ctx context.Context, expiredBefore time.Time) (int, error) {
	now := s.now()
	gone := bson.A{bson.D{{Key: "discard_at", Value: bson.D{{Key: "$ne", Value: nil}, {Key: "$lte", Value: now.UTC()}}}}}
	if !expiredBefore.IsZero() {
		gone = append(gone, bson.D{{Key: "expires_at", Value: bson.D{{Key: "$ne", Value: nil}, {Key: "$lte", Value: expiredBefore.UTC()}}}})
	}
	n, err := s.deleteWhere(ctx, bson.D{{Key: "$or", Value: gone}})
	if err != nil {
		return n, err
	}
	if err := s.deleteOrphanBodies(ctx, now.Add(-orphanAge)); err != nil {
		return n, err
	}
	c, cancel, err := s.op(ctx)
	if err != nil {
		return n, err
	}
	defer cancel()
	_, err = s.leases.DeleteMany(c, bson.D{{Key: "_id", Value: bson.D{{Key: "$ne", Value: sweeperLease}}},
		{Key: "until", Value: bson.D{{Key: "$lt", Value: now.Add(-staleLeaseAge).UTC()}}}})
	if err == nil {
		err = s.sweepEvents(c)
	}
	return n, s.check(ctx, err)
}

// deleteOrphanBodies deletes the GridFS bodies uploaded before before that
// no entry refers to, a batch of files at a time.
func (s *Store) deleteOrphanBodies(ctx context.Context, before time.Time) error {
	c, cancel, err := s.op(ctx)
	if err != nil {
		return err
	}
	defer cancel()
	cur, err := s.bodies.GetFilesCollection().Find(c, bson.D{{Key: "uploadDate", Value: bson.D{{Key: "$lt", Value: before.UTC()}}}},
		options.Find().SetProjection(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return s.check(ctx, err)
	}
	defer cur.Close(c)
	var batch []any
	flush := func() {
		if len(batch) == 0 {
			return
		}
		used := map[string]bool{}
		for _, id := range s.fileIDs(c, bson.D{{Key: "gridfs_id", Value: bson.D{{Key: "$in", Value: batch}}}}) {
			used[idString(id)] = true
		}
		var orphans []any
		for _, id := range batch {
			if !used[idString(id)] {
				orphans = append(orphans, id)
			}
		}
		s.deleteFiles(c, orphans)
		batch = batch[:0]
	}
	for cur.Next(c) {
		if v, err := cur.Current.LookupErr("_id"); err == nil {
			batch = append(batch, v)
		}
		if len(batch) == 100 {
			flush()
		}
	}
	flush()
	return s.check(ctx, cur.Err())
}

// idString identifies a GridFS file id (an ObjectID as bson.RawValue or
// decoded) for comparison.
func idString(id any) string {
	switch v := id.(type) {
	case bson.RawValue:
		if oid, ok := v.ObjectIDOK(); ok {
			return oid.Hex()
		}
		return v.String()
	case bson.ObjectID:
		return v.Hex()
	}
	return ""
}
