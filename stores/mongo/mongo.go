// Package mongo is reqcache's MongoDB store: the cache persists across
// restarts and is shared by every process (on any machine) that points at
// the same collection.
//
// Each entry is one readable document whose _id is the cache key:
//
//	{
//	  _id: "3f2a…", v: 2,
//	  uri: "9c1e…",                      // the resource (stores.Entry.URIKey), indexed
//	  method: "GET", url: "https://api.example.com/v1/users?page=2",
//	  status: 200,
//	  headers: [{name: "Content-Type", values: ["application/json"]}, …],
//	  body: BinData(…),                  // or gridfs_id: ObjectId(…) above ~15 MiB
//	  body_size: 1234,
//	  request_headers: [{name: "Authorization", values: ["REDACTED"]}, …],
//	  requested_at: ISODate(…), created_at: ISODate(…),
//	  expires_at: ISODate(…) | null,     // null: never expires
//	  discard_at: ISODate(…) | null,
//	  heuristic: true                    // only when the lifetime is a heuristic
//	}
//
// Aliases (redirects, Vary indexes, the credential key) live in
// <collection>_aliases as {_id: alias, value: "…"}, with uri: "…" when set
// for a resource (SetAliasFor): DeleteURI removes a resource's entries and
// aliases with two indexed deletes, on the server, for every process. Bodies too large for a
// 16 MiB document go to GridFS (bucket <collection>_bodies) and are deleted
// with their entry.
//
// Every operation is bounded by mongo.op_timeout and the caller's context.
// After a failure that looks like an outage the store answers errors at once
// for a short while (instead of making every request wait op_timeout), then
// tries again: caching resumes by itself when the server is back.
package mongo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.uber.org/zap"

	"github.com/reqcache/reqcache/config"
	"github.com/reqcache/reqcache/internal/seal"
	"github.com/reqcache/reqcache/logging"
	"github.com/reqcache/reqcache/stores"
)

// inlineLimit is the largest body kept in the document itself; larger ones
// go to GridFS (a document is limited to 16 MiB, headers included).
const inlineLimit = 15 << 20

// maxBodySize bounds the size a compressed document may claim for its
// body (a corrupt one must not make a read allocate without bound).
const maxBodySize = 1 << 34

// downFor is how long the store fails fast after an outage-like error.
const downFor = time.Second

// ErrUnavailable is returned (wrapped) while the store fails fast after an
// error that looked like an outage.
var ErrUnavailable = errors.New("reqcache: mongo unavailable")

// Store is the MongoDB store. It is safe for concurrent use.
type Store struct {
	client  *mongo.Client
	entries *mongo.Collection
	aliases *mongo.Collection
	leases  *mongo.Collection
	events  *mongo.Collection // invalidations, for the other processes (events.go)
	// generations holds when each resource was last invalidated, and by
	// which process (events.go).
	generations *mongo.Collection
	proc        string       // this process's name in events
	published   atomic.Int64 // events published, for trimming
	bodies      *mongo.GridFSBucket
	lease       time.Duration // [mongo] lease; 0: off
	opTimeout   time.Duration
	log         *zap.Logger
	now         func() time.Time
	closed      atomic.Bool
	downUntil   atomic.Int64 // unix nanos
	// zstd compresses bodies when [mongo] compress is "zstd"; every store
	// can read compressed documents (unzstd).
	zstd   *compressor
	unzstd *compressor
	// stop ends the sweeper, which sweeping counts, at Close.
	stop     chan struct{}
	sweeping sync.WaitGroup
	// ring seals documents (WithSeal); nil: plain documents.
	ring *seal.Ring
	// foreignKeys names the key ids met that this process does not hold,
	// each logged once.
	foreignKeys   sync.Map
	foreignMisses atomic.Int64
	// maxBody bounds the body a document may declare (WithMaxBodyBytes):
	// a larger one is corrupt, before anything is allocated for it.
	maxBody int64
}

// Option configures a Store.
type Option func(*Store)

// WithMaxBodyBytes bounds the body size a stored document may declare to
// n (the session's max_body_bytes: it stores nothing larger), so that a
// corrupt or hostile document never makes a read allocate more; one that
// declares more is corrupt (a miss, deleted). Without it the bound is 16
// GiB.
func WithMaxBodyBytes(n int64) Option {
	return func(s *Store) {
		if n > 0 && n < maxBodySize {
			s.maxBody = n
		}
	}
}

// WithSeal seals every document's headers and body with ring (its first
// key), and opens documents with any of its keys ([encryption]; a nil or
// empty ring seals nothing). With sealing on, a document that is not
// sealed, does not open, or was sealed for another key is a miss: the
// first two are corrupt (deleted, counted), the last left for the
// processes that hold its key (logged once).
func WithSeal(ring *seal.Ring) Option {
	return func(s *Store) {
		if ring.Sealing() {
			s.ring = ring
		}
	}
}

// New connects to the server cfg names, within cfg.ConnectTimeout and ctx,
// and prepares the collections and indexes. The error of an unreachable
// server names the host and masks any password.
func New(ctx context.Context, cfg config.Mongo, logger *zap.Logger, with ...Option) (*Store, error) {
	if logger == nil {
		logger = zap.NewNop()
	}
	masked := logging.MaskURI(cfg.URI)
	// Zero means the default, which lives in config with the others.
	connectTimeout := cfg.ConnectTimeout.Std()
	if connectTimeout <= 0 {
		connectTimeout = config.Default().Mongo.ConnectTimeout.Std()
	}
	opTimeout := cfg.OpTimeout.Std()
	if opTimeout <= 0 {
		opTimeout = config.Default().Mongo.OpTimeout.Std()
	}
	opts := options.Client().ApplyURI(cfg.URI).
		SetConnectTimeout(connectTimeout).
		SetServerSelectionTimeout(connectTimeout)
	if cfg.MaxPoolSize > 0 {
		opts.SetMaxPoolSize(uint64(cfg.MaxPoolSize))
	}
	client, err := mongo.Connect(opts)
	if err != nil {
		return nil, fmt.Errorf("reqcache: mongo.uri %s: %s (want mongodb://user:password@host:port/ or mongodb+srv://…; docs/mongodb.md)", masked, scrub(err, cfg.URI))
	}
	cctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	if err := client.Ping(cctx, nil); err != nil {
		_ = client.Disconnect(context.Background())
		return nil, fmt.Errorf("reqcache: mongo.uri %s: no MongoDB answered within mongo.connect_timeout (%v): %s; %s", masked, connectTimeout, scrub(err, cfg.URI), connectHint(err))
	}
	db := client.Database(cfg.Database)
	s := &Store{
		client:      client,
		entries:     db.Collection(cfg.Collection),
		aliases:     db.Collection(cfg.Collection + "_aliases"),
		leases:      db.Collection(cfg.Collection + "_leases"),
		events:      db.Collection(cfg.Collection + "_events"),
		generations: db.Collection(cfg.Collection + "_generations"),
		proc:        newToken(),
		lease:       cfg.Lease.Std(),
		stop:        make(chan struct{}),
		bodies:      db.GridFSBucket(options.GridFSBucket().SetName(cfg.Collection + "_bodies")),
		opTimeout:   opTimeout,
		log:         logger,
		now:         time.Now,
		maxBody:     maxBodySize,
	}
	for _, o := range with {
		if o != nil {
			o(s)
		}
	}
	comp, err := newCompressor()
	if err != nil {
		_ = client.Disconnect(context.Background())
		return nil, fmt.Errorf("reqcache: mongo: %w", err)
	}
	s.unzstd = comp
	if cfg.Compress != config.CompressNone {
		s.zstd = comp
	}
	s.ensureIndexes(cctx, cfg.Retention.Std())
	s.ensureEventIndexes(cctx)
	if cfg.SweepInterval > 0 {
		// With retention 0 too: expired entries stay then, but bodies no
		// entry refers to (a write racing a delete, a process that died
		// between the two) and leases long over are swept all the same.
		s.sweeping.Add(1)
		go s.sweepLoop(cfg.Retention.Std(), cfg.SweepInterval.Std())
	}
	if ce := logger.Check(zap.InfoLevel, "reqcache: mongo store ready"); ce != nil {
		ce.Write(zap.String("uri", masked), zap.String("database", cfg.Database), zap.String("collection", cfg.Collection))
	}
	return s, nil
}

// connectHint is the likely fix for a failed first connection, in the
// settings' names, as configuration errors give one.
func connectHint(err error) string {
	msg := strings.ToLower(err.Error())
	switch {
	case strings.Contains(msg, "auth"):
		return "check the user and password in mongo.uri (and its authSource)"
	case strings.Contains(msg, "no such host"):
		return "the host in mongo.uri does not resolve: check its spelling"
	case strings.Contains(msg, "connection refused"):
		return "nothing listens at mongo.uri's host and port: is MongoDB running there?"
	}
	return "is MongoDB running and reachable at mongo.uri? For a slow network, raise mongo.connect_timeout"
}

// scrub keeps a driver error from repeating the URI with its password.
func scrub(err error, uri string) string {
	msg := err.Error()
	if uri != "" {
		msg = string(bytes.ReplaceAll([]byte(msg), []byte(uri), []byte(logging.MaskURI(uri))))
	}
	return msg
}

func (s *Store) ensureIndexes(ctx context.Context, retention time.Duration) {
	models := []mongo.IndexModel{
		{Keys: bson.D{{Key: "created_at", Value: 1}}},
		{Keys: bson.D{{Key: "url", Value: 1}}},
		{Keys: bson.D{{Key: "uri", Value: 1}}},
	}
	if retention > 0 {
		// The server deletes entries that expired longer ago than the
		// retention. FerretDB v1 does not implement TTL indexes: expiry is
		// checked on every read anyway.
		models = append(models, mongo.IndexModel{
			Keys:    bson.D{{Key: "expires_at", Value: 1}},
			Options: options.Index().SetExpireAfterSeconds(int32(retention / time.Second)),
		})
	} else {
		models = append(models, mongo.IndexModel{Keys: bson.D{{Key: "expires_at", Value: 1}}})
	}
	for _, m := range models {
		if _, err := s.entries.Indexes().CreateOne(ctx, m); err != nil {
			s.log.Warn("reqcache: mongo index not created; the store works without it", zap.Error(err))
		}
	}
	if _, err := s.aliases.Indexes().CreateOne(ctx, mongo.IndexModel{Keys: bson.D{{Key: "uri", Value: 1}}}); err != nil {
		s.log.Warn("reqcache: mongo index not created; the store works without it", zap.Error(err))
	}
	// Lease documents end by themselves; the index only tidies them (the
	// sweeper does too), so a server without TTL indexes is not worth a
	// warning.
	ttl := mongo.IndexModel{Keys: bson.D{{Key: "until", Value: 1}}, Options: options.Index().SetExpireAfterSeconds(int32(staleLeaseAge / time.Second))}
	if _, err := s.leases.Indexes().CreateOne(ctx, ttl); err != nil {
		if ce := s.log.Check(zap.DebugLevel, "reqcache: mongo lease index not created"); ce != nil {
			ce.Write(zap.Error(err))
		}
	}
}

// headerField is one header in a document. BSON strings are UTF-8: a
// header whose name or values are not is kept as binary in raw instead.
type headerField struct {
	Name   string   `bson:"name"`
	Values []string `bson:"values"`
	Raw    [][]byte `bson:"raw,omitempty"` // name then values, for non-UTF-8 headers
}

func toFields(h http.Header) []headerField {
	out := make([]headerField, 0, len(h))
	for name, vs := range h {
		valid := utf8.ValidString(name)
		for _, v := range vs {
			valid = valid && utf8.ValidString(v)
		}
		if valid {
			out = append(out, headerField{Name: name, Values: append([]string{}, vs...)})
			continue
		}
		raw := [][]byte{[]byte(name)}
		for _, v := range vs {
			raw = append(raw, []byte(v))
		}
		out = append(out, headerField{Name: strings.ToValidUTF8(name, "?"), Values: []string{}, Raw: raw})
	}
	return out
}

func fromFields(fs []headerField) http.Header {
	h := make(http.Header, len(fs))
	for _, f := range fs {
		if len(f.Raw) > 0 {
			name := string(f.Raw[0])
			for _, v := range f.Raw[1:] {
				h[name] = append(h[name], string(v))
			}
			continue
		}
		h[f.Name] = append(h[f.Name], f.Values...)
	}
	return h
}

// document is an entry as stored.
type document struct {
	ID             string        `bson:"_id"`
	V              int           `bson:"v"`
	URI            string        `bson:"uri,omitempty"`
	Heuristic      bool          `bson:"heuristic,omitempty"` // kept beside lifetime for builds before it
	Lifetime       string        `bson:"lifetime,omitempty"`  // stores.Lifetime's name
	Method         string        `bson:"method"`
	URL            string        `bson:"url"`
	Status         int           `bson:"status"`
	Headers        []headerField `bson:"headers"`
	Body           []byte        `bson:"body,omitempty"`
	GridFSID       any           `bson:"gridfs_id,omitempty"`
	BodySize       int64         `bson:"body_size"`               // the body's own size
	BodyEncoding   string        `bson:"body_encoding,omitempty"` // "zstd", or "" for the body as it is
	RequestHeaders []headerField `bson:"request_headers"`
	// KeyID and Sealed, with [encryption]: the key that sealed the
	// document, and its headers, request headers and inline body (a
	// sealedPart) sealed with the document's _id as additional data; a
	// GridFS body is sealed on its own. Headers, RequestHeaders and Body
	// are then empty.
	KeyID       string     `bson:"kid,omitempty"`
	Sealed      []byte     `bson:"sealed,omitempty"`
	RequestedAt *time.Time `bson:"requested_at"`
	CreatedAt   *time.Time `bson:"created_at"`
	ExpiresAt   *time.Time `bson:"expires_at"`
	DiscardAt   *time.Time `bson:"discard_at"`
	// GeneratedAt is stores.Entry's (absent in documents of builds before
	// it, which read those with it as they read the others); sealed with
	// the headers, whose Date and Age it is made of.
	GeneratedAt *time.Time `bson:"generated_at,omitempty"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func timeOf(p *time.Time) time.Time {
	if p == nil {
		return time.Time{}
	}
	return *p
}

// op bounds a call by op_timeout and fails fast while the server looks
// down.
func (s *Store) op(ctx context.Context) (context.Context, context.CancelFunc, error) {
	if err := s.ready(ctx); err != nil {
		return nil, nil, err
	}
	c, cancel := context.WithTimeout(ctx, s.opTimeout)
	return c, cancel, nil
}

// ready reports why a call cannot start: the store is closed, the caller
// gave up, or the server looked down a moment ago.
func (s *Store) ready(ctx context.Context) error {
	if s.closed.Load() {
		return stores.ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if until := s.downUntil.Load(); until != 0 && time.Now().UnixNano() < until {
		return ErrUnavailable
	}
	return nil
}

// check records an outage-like error so that the next calls fail fast.
func (s *Store) check(ctx context.Context, err error) error {
	if err == nil || errors.Is(err, mongo.ErrNoDocuments) {
		return err
	}
	if s.closed.Load() {
		return stores.ErrClosed
	}
	if ctx.Err() != nil {
		// The caller's context ended (cancelled, or its own deadline):
		// the server is not to blame. Counted as an outage, one caller's
		// deadline made every other call fail for a second, invalidation
		// included (issue 40, finding 1).
		return err
	}
	if mongo.IsNetworkError(err) || mongo.IsTimeout(err) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, mongo.ErrClientDisconnected) {
		s.downUntil.Store(time.Now().Add(downFor).UnixNano())
	}
	return fmt.Errorf("reqcache: mongo: %w", err)
}

// Get implements stores.Store.
func (s *Store) Get(ctx context.Context, key string) (*stores.Entry, error) {
	c, cancel, err := s.op(ctx)
	if err != nil {
		return nil, err
	}
	defer cancel()
	raw, err := s.entries.FindOne(c, bson.D{{Key: "_id", Value: key}}).Raw()
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, stores.ErrNotFound
	}
	if err != nil {
		return nil, s.check(ctx, err)
	}
	e, err := s.decode(ctx, raw)
	if err != nil {
		return nil, err
	}
	if e.Discarded(s.now()) {
		_, _ = s.Delete(ctx, key)
		return nil, stores.ErrNotFound
	}
	return e, nil
}

// decode turns a document into an entry; anything unexpected is
// ErrCorrupt.
func (s *Store) decode(ctx context.Context, raw bson.Raw) (*stores.Entry, error) {
	var d document
	if err := bson.Unmarshal(raw, &d); err != nil {
		return nil, fmt.Errorf("%w: %v", stores.ErrCorrupt, err)
	}
	if d.V != stores.ModelVersion {
		return nil, fmt.Errorf("%w: model version %d", stores.ErrCorrupt, d.V)
	}
	if d.Status < 100 || d.Status > 999 || d.ID == "" {
		return nil, fmt.Errorf("%w: bad status or key", stores.ErrCorrupt)
	}
	if d.BodySize < 0 || d.BodySize > s.maxBody {
		// Checked before anything depends on it: a hostile size made
		// the GridFS read's timeout overflow into a negative one (an
		// outage instead of a corrupt entry), or a decompression
		// allocate without bound (issue 40, findings 3 and 4).
		return nil, fmt.Errorf("%w: body size %d (at most %d)", stores.ErrCorrupt, d.BodySize, s.maxBody)
	}
	if err := s.openDocument(&d); err != nil {
		return nil, err
	}
	body := d.Body
	if d.GridFSID != nil {
		bound := d.BodySize
		if d.KeyID != "" {
			bound += sealOverhead
		}
		b, err := s.readBody(ctx, d.GridFSID, bound)
		if err != nil {
			return nil, err
		}
		if body, err = s.openBody(&d, b); err != nil {
			return nil, err
		}
	}
	switch d.BodyEncoding {
	case "":
	case encodingZstd:
		b, err := s.unzstd.decompress(body, d.BodySize)
		if err != nil {
			return nil, fmt.Errorf("%w: body: %v", stores.ErrCorrupt, err)
		}
		body = b
	default:
		return nil, fmt.Errorf("%w: body encoding %q", stores.ErrCorrupt, d.BodyEncoding)
	}
	if int64(len(body)) != d.BodySize {
		return nil, fmt.Errorf("%w: body size %d, want %d", stores.ErrCorrupt, len(body), d.BodySize)
	}
	return &stores.Entry{
		Key:           d.ID,
		StatusCode:    d.Status,
		Header:        fromFields(d.Headers),
		Body:          body,
		Method:        d.Method,
		URL:           d.URL,
		RequestHeader: fromFields(d.RequestHeaders),
		RequestedAt:   timeOf(d.RequestedAt),
		CreatedAt:     timeOf(d.CreatedAt),
		ExpiresAt:     timeOf(d.ExpiresAt),
		DiscardAt:     timeOf(d.DiscardAt),
		GeneratedAt:   timeOf(d.GeneratedAt),
		URIKey:        d.URI,
		Lifetime:      stores.StoredLifetime(d.Lifetime, d.Heuristic),
	}, nil
}

// Set implements stores.Store.
func (s *Store) Set(ctx context.Context, e *stores.Entry) error {
	if err := s.ready(ctx); err != nil {
		return err
	}
	d := document{
		ID: e.Key, V: stores.ModelVersion, URI: e.URIKey, Heuristic: e.Heuristic(), Lifetime: e.Lifetime.String(), Method: e.Method, URL: e.URL, Status: e.StatusCode,
		Headers: toFields(e.Header), BodySize: int64(len(e.Body)),
		RequestHeaders: toFields(e.RequestHeader),
		RequestedAt:    timePtr(e.RequestedAt), CreatedAt: timePtr(e.CreatedAt),
		ExpiresAt: timePtr(e.ExpiresAt), DiscardAt: timePtr(e.DiscardAt), GeneratedAt: timePtr(e.GeneratedAt),
	}
	stored, encoding := s.zstd.compress(e.Body, e.Header)
	d.BodyEncoding = encoding
	large := len(stored) > inlineLimit
	if large && s.ring != nil {
		_, stored = s.ring.Seal(bodyAD(e.Key), stored)
	}
	if large {
		// The body first, under its own size-proportional deadline; the
		// document's op_timeout starts after it.
		gctx, gcancel := context.WithTimeout(ctx, s.bodyTimeout(int64(len(stored))))
		id, err := s.bodies.UploadFromStream(gctx, e.Key, bytes.NewReader(stored))
		gcancel()
		if err != nil {
			return s.check(ctx, err)
		}
		d.GridFSID = id
	} else if encoding != "" {
		d.Body = stored // a new slice already
	} else if s.ring != nil {
		d.Body = e.Body // sealed below, which copies it
	} else {
		d.Body = append([]byte{}, e.Body...)
	}
	if s.ring != nil {
		if err := s.sealDocument(&d); err != nil {
			return err
		}
	}
	c, cancel := context.WithTimeout(ctx, s.opTimeout)
	defer cancel()
	old := s.fileIDs(c, bson.D{{Key: "_id", Value: e.Key}})
	if err := upsert(c, s.entries, e.Key, d); err != nil {
		if d.GridFSID != nil {
			_ = s.bodies.Delete(context.WithoutCancel(c), d.GridFSID)
		}
		return s.check(ctx, err)
	}
	s.deleteFiles(c, old)
	if s.invalidatedSince(c, e) {
		// Another process invalidated the resource after this exchange
		// began: what it brought may be the representation that
		// invalidation replaced.
		_, _ = s.deleteWhere(context.WithoutCancel(c), bson.D{{Key: "_id", Value: e.Key}})
		return fmt.Errorf("%w: %s", stores.ErrOvertaken, e.URIKey)
	}
	return nil
}

// bodyTimeout bounds moving a GridFS body: op_timeout plus a second per
// MiB, since op_timeout is sized for one small document. (size is at most
// maxBodySize: 16,384 s at most, no overflow.)
func (s *Store) bodyTimeout(size int64) time.Duration {
	return s.opTimeout + time.Duration(min(max(size, 0), maxBodySize)>>20)*time.Second
}

// readBody reads a GridFS body of a document that declares size bytes: a
// stored body is never larger (compressed, it is smaller), so reading
// stops one byte past it and a longer file is corrupt, not a buffer grown
// to whatever the file holds.
func (s *Store) readBody(ctx context.Context, id any, size int64) ([]byte, error) {
	gctx, cancel := context.WithTimeout(ctx, s.bodyTimeout(size))
	defer cancel()
	ds, err := s.bodies.OpenDownloadStream(gctx, id)
	if err != nil {
		if errors.Is(err, mongo.ErrFileNotFound) {
			return nil, fmt.Errorf("%w: body file missing", stores.ErrCorrupt)
		}
		return nil, s.check(ctx, err)
	}
	defer ds.Close()
	stored := ds.GetFile().Length
	if stored > size || stored < 0 {
		return nil, fmt.Errorf("%w: body file of %d bytes for a body of %d", stores.ErrCorrupt, stored, size)
	}
	buf := bytes.NewBuffer(make([]byte, 0, stored))
	if _, err := io.Copy(buf, io.LimitReader(ds, size+1)); err != nil {
		return nil, s.check(ctx, err)
	}
	if int64(buf.Len()) > size {
		return nil, fmt.Errorf("%w: body file longer than its body", stores.ErrCorrupt)
	}
	return buf.Bytes(), nil
}

// upsert replaces or inserts the document with _id id. Two concurrent
// upserts of one new _id can both try to insert; the loser's duplicate-key
// error means the document now exists, and a second try replaces it.
func upsert(ctx context.Context, coll *mongo.Collection, id string, doc any) error {
	var err error
	for try := 0; try < 3; try++ {
		_, err = coll.ReplaceOne(ctx, bson.D{{Key: "_id", Value: id}}, doc, options.Replace().SetUpsert(true))
		if !mongo.IsDuplicateKeyError(err) {
			return err
		}
	}
	return err
}

// fileIDs returns the GridFS files of the documents filter matches.
func (s *Store) fileIDs(ctx context.Context, filter bson.D) []any {
	f := append(bson.D{{Key: "gridfs_id", Value: bson.D{{Key: "$exists", Value: true}}}}, filter...)
	cur, err := s.entries.Find(ctx, f, options.Find().SetProjection(bson.D{{Key: "gridfs_id", Value: 1}}))
	if err != nil {
		return nil
	}
	defer cur.Close(ctx)
	var ids []any
	for cur.Next(ctx) {
		if v, err := cur.Current.LookupErr("gridfs_id"); err == nil {
			ids = append(ids, v)
		}
	}
	return ids
}

func (s *Store) deleteFiles(ctx context.Context, ids []any) {
	for _, id := range ids {
		if err := s.bodies.Delete(ctx, id); err != nil && !errors.Is(err, mongo.ErrFileNotFound) {
			s.log.Warn("reqcache: mongo: a body file was not deleted", zap.Error(err))
		}
	}
}

// Delete implements stores.Store.
func (s *Store) Delete(ctx context.Context, keys ...string) (int, error) {
	if len(keys) == 0 {
		return 0, nil
	}
	return s.deleteWhere(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: keys}}}})
}

func (s *Store) deleteWhere(ctx context.Context, filter bson.D) (int, error) {
	c, cancel, err := s.op(ctx)
	if err != nil {
		return 0, err
	}
	defer cancel()
	files := s.fileIDs(c, filter)
	res, err := s.entries.DeleteMany(c, filter)
	if err != nil {
		return 0, s.check(ctx, err)
	}
	s.deleteFiles(c, files)
	return int(res.DeletedCount), nil
}

// DeleteWhere implements stores.ConditionalDeleter on the server.
func (s *Store) DeleteWhere(ctx context.Context, cond stores.Condition) (int, error) {
	var or bson.A
	if !cond.ExpiredAt.IsZero() {
		or = append(or, bson.D{{Key: "expires_at", Value: bson.D{{Key: "$ne", Value: nil}, {Key: "$lte", Value: cond.ExpiredAt.UTC()}}}})
	}
	if !cond.CreatedBefore.IsZero() {
		or = append(or, bson.D{{Key: "created_at", Value: bson.D{{Key: "$lt", Value: cond.CreatedBefore.UTC()}}}})
	}
	if len(or) == 0 {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		if s.closed.Load() {
			return 0, stores.ErrClosed
		}
		return 0, nil
	}
	n, err := s.deleteWhere(ctx, bson.D{{Key: "$or", Value: or}})
	if err == nil && !cond.ExpiredAt.IsZero() {
		// The sweeper's other half: bodies the TTL index left behind.
		err = s.deleteOrphanBodies(ctx, s.now().Add(-orphanAge))
	}
	return n, err
}

// GetAlias implements stores.Store.
func (s *Store) GetAlias(ctx context.Context, alias string) (string, error) {
	c, cancel, err := s.op(ctx)
	if err != nil {
		return "", err
	}
	defer cancel()
	var d struct {
		Value string `bson:"value"`
	}
	err = s.aliases.FindOne(c, bson.D{{Key: "_id", Value: alias}}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return "", stores.ErrNotFound
	}
	if err != nil {
		return "", s.check(ctx, err)
	}
	return d.Value, nil
}

// SetAlias implements stores.Store.
func (s *Store) SetAlias(ctx context.Context, alias, value string) error {
	c, cancel, err := s.op(ctx)
	if err != nil {
		return err
	}
	defer cancel()
	err = upsert(c, s.aliases, alias, bson.D{{Key: "_id", Value: alias}, {Key: "value", Value: value}})
	return s.check(ctx, err)
}

// AddAlias implements stores.AliasAdder with an insert: the first process
// to insert the alias wins, and the others read its value.
func (s *Store) AddAlias(ctx context.Context, alias, value string) (string, error) {
	c, cancel, err := s.op(ctx)
	if err != nil {
		return "", err
	}
	defer cancel()
	_, err = s.aliases.InsertOne(c, bson.D{{Key: "_id", Value: alias}, {Key: "value", Value: value}})
	if err == nil {
		return value, nil
	}
	if !mongo.IsDuplicateKeyError(err) {
		return "", s.check(ctx, err)
	}
	cancel()
	return s.GetAlias(ctx, alias)
}

var _ stores.AliasAdder = (*Store)(nil)

// IndexEntry implements stores.URIIndex: every document holds its
// resource (uri, indexed) already.
func (s *Store) IndexEntry(ctx context.Context, uriKey, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.closed.Load() {
		return stores.ErrClosed
	}
	return nil
}

// SetAliasFor implements stores.URIIndex.
func (s *Store) SetAliasFor(ctx context.Context, uriKey, alias, value string) error {
	c, cancel, err := s.op(ctx)
	if err != nil {
		return err
	}
	defer cancel()
	err = upsert(c, s.aliases, alias, bson.D{{Key: "_id", Value: alias}, {Key: "value", Value: value}, {Key: "uri", Value: uriKey}})
	return s.check(ctx, err)
}

// DeleteURI implements stores.URIIndex on the server: the entries (and
// their GridFS bodies) and the aliases of the resource.
//
// The invalidation is published first (events.go): a write that lands
// before the delete is deleted with the rest, and one that lands after it
// finds the event when it checks (Set), so no process keeps a response
// whose exchange began before the invalidation.
func (s *Store) DeleteURI(ctx context.Context, uriKey string) (int, error) {
	if err := s.publish(ctx, uriKey, false); err != nil {
		return 0, err
	}
	n, err := s.deleteWhere(ctx, bson.D{{Key: "uri", Value: uriKey}})
	if err != nil {
		return n, err
	}
	c, cancel, err := s.op(ctx)
	if err != nil {
		return n, err
	}
	defer cancel()
	_, err = s.aliases.DeleteMany(c, bson.D{{Key: "uri", Value: uriKey}})
	return n, s.check(ctx, err)
}

var _ stores.URIIndex = (*Store)(nil)

// ScanAliases implements stores.AliasScanner. Like Scan, it is bounded by
// the caller's context, not by op_timeout.
func (s *Store) ScanAliases(ctx context.Context, fn func(alias, value string) bool) error {
	if s.closed.Load() {
		return stores.ErrClosed
	}
	cur, err := s.aliases.Find(ctx, bson.D{})
	if err != nil {
		return s.check(ctx, err)
	}
	defer cur.Close(ctx)
	for cur.Next(ctx) {
		var d struct {
			ID    string `bson:"_id"`
			Value string `bson:"value"`
		}
		if cur.Decode(&d) != nil {
			continue
		}
		if !fn(d.ID, d.Value) {
			return nil
		}
	}
	return s.check(ctx, cur.Err())
}

// DeleteAlias implements stores.Store.
func (s *Store) DeleteAlias(ctx context.Context, aliases ...string) error {
	c, cancel, err := s.op(ctx)
	if err != nil {
		return err
	}
	defer cancel()
	if len(aliases) == 0 {
		return nil
	}
	_, err = s.aliases.DeleteMany(c, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: aliases}}}})
	return s.check(ctx, err)
}

// Scan implements stores.Store. It is bounded by the caller's context, not
// by op_timeout: a scan of a large cache takes as long as it takes.
func (s *Store) Scan(ctx context.Context, fn func(*stores.Entry) bool) error {
	if s.closed.Load() {
		return stores.ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	cur, err := s.entries.Find(ctx, bson.D{})
	if err != nil {
		return s.check(ctx, err)
	}
	defer cur.Close(ctx)
	now := s.now()
	for cur.Next(ctx) {
		e, err := s.decode(ctx, cur.Current)
		if err != nil || e.Discarded(now) {
			continue
		}
		if !fn(e) {
			return nil
		}
	}
	return s.check(ctx, cur.Err())
}

// Bytes implements stores.Sizer: the data size the server reports for the
// entries collection (collStats, no scan; GridFS bodies not counted).
func (s *Store) Bytes(ctx context.Context) (int64, error) {
	c, cancel, err := s.op(ctx)
	if err != nil {
		return 0, err
	}
	defer cancel()
	var st struct {
		Size float64 `bson:"size"`
	}
	res := s.entries.Database().RunCommand(c, bson.D{{Key: "collStats", Value: s.entries.Name()}})
	if err := res.Decode(&st); err != nil {
		return 0, s.check(ctx, err)
	}
	return int64(st.Size), nil
}

// Len implements stores.Store.
func (s *Store) Len(ctx context.Context) (int, error) {
	c, cancel, err := s.op(ctx)
	if err != nil {
		return 0, err
	}
	defer cancel()
	n, err := s.entries.CountDocuments(c, bson.D{})
	if err != nil {
		return 0, s.check(ctx, err)
	}
	return int(n), nil
}

// Clear implements stores.Store.
func (s *Store) Clear(ctx context.Context) error {
	if err := s.publish(ctx, "", true); err != nil {
		return err
	}
	c, cancel, err := s.op(ctx)
	if err != nil {
		return err
	}
	defer cancel()
	if _, err := s.entries.DeleteMany(c, bson.D{}); err != nil {
		return s.check(ctx, err)
	}
	if _, err := s.aliases.DeleteMany(c, bson.D{}); err != nil {
		return s.check(ctx, err)
	}
	if _, err := s.leases.DeleteMany(c, bson.D{}); err != nil {
		return s.check(ctx, err)
	}
	return s.check(ctx, s.bodies.Drop(c))
}

// Close implements stores.Store.
func (s *Store) Close() error {
	if !s.closed.CompareAndSwap(false, true) {
		return nil
	}
	close(s.stop)
	s.sweeping.Wait()
	defer s.unzstd.close()
	ctx, cancel := context.WithTimeout(context.Background(), s.opTimeout)
	defer cancel()
	return s.client.Disconnect(ctx)
}
