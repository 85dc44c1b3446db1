package mongo_test

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/reqcache/reqcache/internal/mongotest"
	"github.com/reqcache/reqcache/internal/seal"
	"github.com/reqcache/reqcache/stores"
	"github.com/reqcache/reqcache/stores/mongo"
	"github.com/reqcache/reqcache/stores/storetest"
)

func ring(t *testing.T, keys ...byte) *seal.Ring {
	t.Helper()
	var raw [][]byte
	for _, k := range keys {
		raw = append(raw, bytes.Repeat([]byte{k}, seal.KeySize))
	}
	r, err := seal.New(raw...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// With [encryption], a reader of the database learns no header and no
// body; the store reads them back; a document copied under another key,
// altered, planted in the clear, or sealed with a key this process does
// not hold is a miss — the first three deleted as corrupt, the last left
// for the processes that hold its key; a rotated ring opens the old key's
// documents and seals with the new one.
func TestSealedDocuments(t *testing.T) {
	ctx := context.Background()
	c := cfgFor(t, mongotest.URI(t))
	open := func(r *seal.Ring) *mongo.Store {
		s, err := mongo.New(ctx, c, nil, mongo.WithSeal(r))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	sealed := open(ring(t, 1))
	coll := raw(t, c)
	e := storetest.NewEntry("k1")
	e.Body = []byte("the private body")
	e.RequestHeader.Set("X-Private", "request secret")
	if err := sealed.Set(ctx, e); err != nil {
		t.Fatal(err)
	}
	doc, err := coll.FindOne(ctx, bson.D{{Key: "_id", Value: "k1"}}).Raw()
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"the private body", "request secret", "max-age=3600", "application/json"} {
		if bytes.Contains(doc, []byte(secret)) {
			t.Fatalf("the stored document holds %q in the clear", secret)
		}
	}
	if doc.Lookup("generated_at").Type != 0 {
		t.Fatal("the stored document holds generated_at (made of the headers' Date and Age) in the clear")
	}
	got, err := sealed.Get(ctx, "k1")
	if err != nil || string(got.Body) != "the private body" || got.Header.Get("Cache-Control") != "max-age=3600" || got.RequestHeader.Get("X-Private") != "request secret" {
		t.Fatalf("read back: %+v %v", got, err)
	}
	if !storetest.TimeEqual(e.GeneratedAt, got.GeneratedAt) {
		t.Fatalf("GeneratedAt read back as %v, want %v", got.GeneratedAt, e.GeneratedAt)
	}

	// Copied under another key: does not open (the key is the additional data).
	var m bson.D
	if err := bson.Unmarshal(doc, &m); err != nil {
		t.Fatal(err)
	}
	for i := range m {
		if m[i].Key == "_id" {
			m[i].Value = "k2"
		}
	}
	if _, err := coll.InsertOne(ctx, m); err != nil {
		t.Fatal(err)
	}
	if _, err := sealed.Get(ctx, "k2"); !errors.Is(err, stores.ErrCorrupt) {
		t.Fatalf("a sealed document copied under another key: %v, want ErrCorrupt", err)
	}
	// Altered.
	if err := sealed.Set(ctx, storetest.NewEntry("k3")); err != nil {
		t.Fatal(err)
	}
	var d3 struct {
		Sealed []byte `bson:"sealed"`
	}
	coll.FindOne(ctx, bson.D{{Key: "_id", Value: "k3"}}).Decode(&d3)
	d3.Sealed[len(d3.Sealed)/2] ^= 1
	if _, err := coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: "k3"}}, bson.D{{Key: "$set", Value: bson.D{{Key: "sealed", Value: d3.Sealed}}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := sealed.Get(ctx, "k3"); !errors.Is(err, stores.ErrCorrupt) {
		t.Fatalf("an altered sealed document: %v, want ErrCorrupt", err)
	}
	// Planted in the clear (by anyone who can write the database).
	plain, err := mongo.New(ctx, c, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	if err := plain.Set(ctx, storetest.NewEntry("planted")); err != nil {
		t.Fatal(err)
	}
	if _, err := sealed.Get(ctx, "planted"); !errors.Is(err, stores.ErrCorrupt) {
		t.Fatalf("a document in the clear under [encryption]: %v, want ErrCorrupt", err)
	}
	// Sealed with a key this process does not hold: a miss, left in place.
	other := open(ring(t, 9))
	if _, err := other.Get(ctx, "k1"); !errors.Is(err, stores.ErrNotFound) {
		t.Fatalf("another key's document: %v, want ErrNotFound", err)
	}
	if n := other.ForeignKeyMisses(); n != 1 {
		t.Fatalf("%d misses counted for another key's document, want 1", n)
	}
	if _, err := plain.Get(ctx, "k1"); !errors.Is(err, stores.ErrNotFound) {
		t.Fatalf("a sealed document read without keys: %v, want ErrNotFound", err)
	}
	if n, _ := coll.CountDocuments(ctx, bson.D{{Key: "_id", Value: "k1"}}); n != 1 {
		t.Fatal("another key's document was deleted: the processes holding its key lose it")
	}
	// Rotated: the new key seals, the old one still opens.
	rotated := open(ring(t, 2, 1))
	if got, err := rotated.Get(ctx, "k1"); err != nil || string(got.Body) != "the private body" {
		t.Fatalf("a rotated ring reads the old key's document: %v", err)
	}
	if err := rotated.Set(ctx, storetest.NewEntry("k4")); err != nil {
		t.Fatal(err)
	}
	if _, err := sealed.Get(ctx, "k4"); !errors.Is(err, stores.ErrNotFound) {
		t.Fatalf("a process with the old key alone reads the new key's document: %v", err)
	}

	// A body large enough for GridFS is sealed on its own.
	big := storetest.NewEntry("big")
	big.Body = make([]byte, 16<<20)
	rand.NewChaCha8([32]byte{2}).Read(big.Body)
	if err := sealed.Set(ctx, big); err != nil {
		t.Fatal(err)
	}
	if got, err := sealed.Get(ctx, "big"); err != nil || !bytes.Equal(got.Body, big.Body) {
		t.Fatalf("a sealed GridFS body: %v", err)
	}
}

// BenchmarkGet is a MongoDB read of a 1 KiB entry with 9 header fields,
// in the clear and sealed ([encryption]): the cost of sealing at rest on
// a hit from MongoDB, read as the ratio of the two in one run.
func BenchmarkGet(b *testing.B) {
	ctx := context.Background()
	uri := mongotest.URI(b)
	for _, tc := range []struct {
		name string
		ring *seal.Ring
	}{{"plain", nil}, {"sealed", ringB(b)}} {
		c := cfgFor(b, uri)
		s, err := mongo.New(ctx, c, nil, mongo.WithSeal(tc.ring))
		if err != nil {
			b.Fatal(err)
		}
		e := storetest.NewEntry("bench")
		e.Body = bytes.Repeat([]byte("0123456789abcdef"), 64)
		if err := s.Set(ctx, e); err != nil {
			b.Fatal(err)
		}
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.Get(ctx, "bench"); err != nil {
					b.Fatal(err)
				}
			}
		})
		s.Close()
	}
}

func ringB(b *testing.B) *seal.Ring {
	r, err := seal.New(bytes.Repeat([]byte{1}, seal.KeySize))
	if err != nil {
		b.Fatal(err)
	}
	return r
}
