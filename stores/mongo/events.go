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
// server (FerretDB has no change streams); events are kept for
// eventRetention, by a TTL index where the server has one and by the
// sweeper.
const eventRetention = time.Hour

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
	_, err = s.events.InsertOne(c, event{ID: bson.NewObjectID(), URI: uri, All: all, Proc: s.proc, At: s.now().UTC()})
	return s.check(ctx, err)
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
// process at or after e's exchange began, less clockSkew (the fleet's
// clocks may disagree that much: a write an invalidation may have
// overtaken is not kept, at the cost of not caching a resource for a few
// seconds after another process invalidated it). This process's own
// invalidations the session checks itself, without a query.
func (s *Store) invalidatedSince(ctx context.Context, e *stores.Entry) bool {
	if e.URIKey == "" || e.RequestedAt.IsZero() {
		return false
	}
	filter := bson.D{
		{Key: "at", Value: bson.D{{Key: "$gte", Value: e.RequestedAt.Add(-clockSkew).UTC()}}},
		{Key: "proc", Value: bson.D{{Key: "$ne", Value: s.proc}}},
		{Key: "$or", Value: bson.A{bson.D{{Key: "uri", Value: e.URIKey}}, bson.D{{Key: "all", Value: true}}}},
	}
	n, err := s.events.CountDocuments(ctx, filter, options.Count().SetLimit(1))
	// An error keeps the write: the invalidation, if any, was published
	// before its delete, which then removes it unless this write landed
	// after it (the narrow case this check exists for).
	return err == nil && n > 0
}

// clockSkew is how far apart the fleet's clocks may be (docs/mongodb.md).
const clockSkew = 5 * time.Second

// sweepEvents removes events older than eventRetention (the TTL index's
// work, where the server has none).
func (s *Store) sweepEvents(ctx context.Context) error {
	_, err := s.events.DeleteMany(ctx, bson.D{{Key: "at", Value: bson.D{{Key: "$lt", Value: s.now().Add(-eventRetention).UTC()}}}})
	return err
}

var _ stores.InvalidationFeed = (*Store)(nil)
