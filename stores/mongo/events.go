package mongo

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.uber.org/zap"

	"github.com/reqcache/reqcache/stores"
)

// Invalidation events: every DeleteURI and Clear adds a document to the
// COLLECTION_events collection, naming the resource and the process, and
// each process reads the others' (Invalidations) to drop its memory
// tier's copies (stores/tiered). Polling a plain collection works on every
// server (FerretDB has no change streams). Events are needed for a poll's
// window only, so they are kept for eventRetention: a TTL index where the
// server has one, and every process trims them as it publishes (FerretDB
// scans the collection for each poll: it must stay small).
//
// And a generation per resource, in COLLECTION_generations under the
// resource's key: when it was last invalidated, and by whom. A write reads
// it (by _id, which every server serves without a scan) to find an
// invalidation that overtook it.
const eventRetention = stores.InvalidationsKept

// trimEvery is how many publishes of a process make one trim of the
// events older than eventRetention.
const trimEvery = 64

// event is one invalidation as stored.
type event struct {
	ID   bson.ObjectID `bson:"_id"`
	URI  string        `bson:"uri,omitempty"`
	All  bool          `bson:"all,omitempty"`
	Proc string        `bson:"proc"`
	At   time.Time     `bson:"at"`
}

// ensureEventIndexes prepares the events collection: reads by time, and
// removal after eventRetention where TTL indexes exist.
func (s *Store) ensureEventIndexes(ctx context.Context) {
	ttl := mongo.IndexModel{Keys: bson.D{{Key: "at", Value: 1}}, Options: options.Index().SetExpireAfterSeconds(int32(eventRetention / time.Second))}
	if _, err := s.events.Indexes().CreateOne(ctx, mongo.IndexModel{Keys: bson.D{{Key: "uri", Value: 1}, {Key: "at", Value: 1}}}); err != nil {
		s.log.Warn("reqcache: mongo index not created; the store works without it", zap.Error(err))
	}
	if _, err := s.events.Indexes().CreateOne(ctx, ttl); err != nil {
		if _, err := s.events.Indexes().CreateOne(ctx, mongo.IndexModel{Keys: bson.D{{Key: "at", Value: 1}}}); err != nil {
			s.log.Warn("reqcache: mongo index not created; the store works without it", zap.Error(err))
		}
	}
}

// publish tells the other processes that uri (or everything, all) was
// invalidated. Its error is the caller's: an invalidation the fleet did not
// learn of is not done (the session retries what it owes).
func (s *Store) publish(ctx context.Context, uri string, all bool) error {
	c, cancel, err := s.op(ctx)
	if err != nil {
		return err
	}
	defer cancel()
	if all {
		uri = allURIs
	}
	now := s.now().UTC()
	if !all {
		gen := bson.D{{Key: "_id", Value: uri}, {Key: "at", Value: now}, {Key: "proc", Value: s.proc}}
		if err := upsert(c, s.generations, uri, gen); err != nil {
			return s.check(ctx, err)
		}
	}
	if _, err = s.events.InsertOne(c, event{ID: bson.NewObjectID(), URI: uri, All: all, Proc: s.proc, At: now}); err != nil {
		return s.check(ctx, err)
	}
	if s.published.Add(1)%trimEvery == 0 {
		_ = s.sweepEvents(c)
	}
	return nil
}

// Invalidations implements stores.InvalidationFeed: the other processes'
// events at or after since, oldest first.
func (s *Store) Invalidations(ctx context.Context, since time.Time) ([]stores.Invalidation, error) {
	c, cancel, err := s.op(ctx)
	if err != nil {
		return nil, err
	}
	defer cancel()
	filter := bson.D{{Key: "at", Value: bson.D{{Key: "$gte", Value: since.UTC()}}}, {Key: "proc", Value: bson.D{{Key: "$ne", Value: s.proc}}}}
	cur, err := s.events.Find(c, filter, options.Find().SetSort(bson.D{{Key: "at", Value: 1}}))
	if err != nil {
		return nil, s.check(ctx, err)
	}
	var evs []event
	if err := cur.All(c, &evs); err != nil {
		return nil, s.check(ctx, err)
	}
	out := make([]stores.Invalidation, 0, len(evs))
	for _, e := range evs {
		out = append(out, stores.Invalidation{ID: e.ID.Hex(), URIKey: e.URI, All: e.All, At: e.At})
	}
	return out, nil
}

// invalidatedSince reports an invalidation of e's resource by another
// process at or after e's exchange began, less stores.ClockSkew (the fleet's
// clocks may disagree that much: a write an invalidation may have
// overtaken is not kept, at the cost of not caching a resource for a few
// seconds after another process invalidated it). This process's own
// invalidations the session checks itself, without a query.
func (s *Store) invalidatedSince(ctx context.Context, e *stores.Entry) bool {
	if e.URIKey == "" || e.RequestedAt.IsZero() {
		return false
	}
	var g struct {
		At   time.Time `bson:"at"`
		Proc string    `bson:"proc"`
	}
	// An error keeps the write: the invalidation, if any, was published
	// before its delete, which then removes it unless this write landed
	// after it (the narrow case this check exists for). (A Clear, a
	// management operation, does not guard the writes racing it.)
	err := s.generations.FindOne(ctx, bson.D{{Key: "_id", Value: e.URIKey}}).Decode(&g)
	return err == nil && g.Proc != s.proc && !g.At.Before(e.RequestedAt.Add(-stores.ClockSkew))
}

// allURIs is the uri of a Clear's event: every resource.
const allURIs = "*"

// sweepEvents removes events older than eventRetention (the TTL index's
// work, where the server has none).
func (s *Store) sweepEvents(ctx context.Context) error {
	_, err := s.events.DeleteMany(ctx, bson.D{{Key: "at", Value: bson.D{{Key: "$lt", Value: s.now().Add(-eventRetention).UTC()}}}})
	if err != nil {
		return err
	}
	// A generation older than any exchange still under way checks nothing.
	_, err = s.generations.DeleteMany(ctx, bson.D{{Key: "at", Value: bson.D{{Key: "$lt", Value: s.now().Add(-time.Hour).UTC()}}}})
	return err
}

var _ stores.InvalidationFeed = (*Store)(nil)
