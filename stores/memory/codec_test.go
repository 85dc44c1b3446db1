package memory

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/reqcache/reqcache/config"
	"github.com/reqcache/reqcache/stores"
	"github.com/reqcache/reqcache/stores/storetest"
)

// benchEntry is a typical response: a 1 KiB body and 10 headers.
func benchEntry(key string) *stores.Entry {
	e := storetest.NewEntry(key)
	e.Body = bytes.Repeat([]byte("0123456789abcdef"), 64)
	e.Header = http.Header{
		"Content-Type":   {"application/json; charset=utf-8"},
		"Content-Length": {"1024"},
		"Cache-Control":  {"public, max-age=3600"},
		"Date":           {"Sat, 14 Mar 2026 15:09:26 GMT"},
		"Etag":           {`"33a64df551425fcc55e4d42a148795d9f25f89d4"`},
		"Last-Modified":  {"Fri, 13 Mar 2026 10:00:00 GMT"},
		"Server":         {"nginx"},
		"Vary":           {"Accept-Encoding"},
		"X-Request-Id":   {"f058ebd6-02f7-4d3f-942e-904344e8cde5"},
		"Set-Cookie":     {"a=1; Path=/", "b=2; Path=/"},
	}
	return e
}

func TestRoundTripExact(t *testing.T) {
	e := benchEntry("exact")
	e.StatusCode = -7
	got, err := decodeShared(encode(e))
	if err != nil {
		t.Fatal(err)
	}
	if err := storetest.Compare(e, got); err != nil {
		t.Fatal(err)
	}
	// The codec keeps nanoseconds (Compare allows milliseconds).
	for _, p := range [][2]time.Time{{e.RequestedAt, got.RequestedAt}, {e.CreatedAt, got.CreatedAt}, {e.ExpiresAt, got.ExpiresAt}, {e.DiscardAt, got.DiscardAt}, {e.GeneratedAt, got.GeneratedAt}} {
		if !p[0].Equal(p[1]) {
			t.Fatalf("time %v came back as %v", p[0], p[1])
		}
	}
	if got.StatusCode != -7 {
		t.Fatalf("status %d", got.StatusCode)
	}
	if len(encode(e)) != entryLen(e) {
		t.Fatalf("entryLen = %d, len(encode) = %d", entryLen(e), len(encode(e)))
	}
	// appendEncode appends.
	b := appendEncode([]byte("prefix"), e)
	if !bytes.HasPrefix(b, []byte("prefix")) {
		t.Fatal("AppendEncode lost the prefix")
	}
	if _, err := decodeShared(b[len("prefix"):]); err != nil {
		t.Fatal(err)
	}
}

// Every lifetime source round-trips; the one entries of model version 2
// marked with their heuristic bit (bit 4) reads as the heuristic.
func TestLifetimeRoundTrips(t *testing.T) {
	for l := stores.LifetimeUnrecorded; l.Valid(); l++ {
		e := benchEntry("lifetime")
		e.Lifetime = l
		got, err := decodeShared(encode(e))
		if err != nil || got.Lifetime != l {
			t.Fatalf("%v came back as %v, %v", l, got.Lifetime, err)
		}
	}
	e := benchEntry("v2")
	e.Lifetime = stores.LifetimeUnrecorded
	b := encode(e)
	_, n := binary.Uvarint(b[headerPrefix:])
	b[headerPrefix+n] |= 1 << 4 // the flags, after magic, version and metaLen
	if got, err := decodeShared(b); err != nil || got.Lifetime != stores.LifetimeHeuristic || !got.Heuristic() {
		t.Fatalf("a version 2 heuristic entry: %+v, %v", got, err)
	}
}

func TestRoundTripExtremes(t *testing.T) {
	for _, tm := range []time.Time{
		time.Unix(0, 0),
		time.Unix(0, 1),
		time.Unix(-1, 999999999),
		time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC), // just after the zero time
		time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC).Add(-time.Nanosecond),
		time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(292277026596, 12, 4, 15, 30, 7, 0, time.UTC),
	} {
		e := &stores.Entry{Key: "t", CreatedAt: tm, ExpiresAt: tm, StatusCode: math.MaxInt}
		got, err := decodeShared(encode(e))
		if err != nil {
			t.Fatalf("%v: %v", tm, err)
		}
		if !got.CreatedAt.Equal(tm) || !got.ExpiresAt.Equal(tm) || got.CreatedAt.IsZero() {
			t.Fatalf("time %v came back as %v", tm, got.CreatedAt)
		}
		if got.StatusCode != math.MaxInt || !got.RequestedAt.IsZero() || !got.DiscardAt.IsZero() {
			t.Fatalf("got %+v", got)
		}
		if got.Header == nil || got.RequestHeader == nil || len(got.Body) != 0 {
			t.Fatalf("empty entry decoded as %+v", got)
		}
	}
}

func TestDecodeAppendDoesNotClobber(t *testing.T) {
	got, err := decodeShared(encode(benchEntry("x")))
	if err != nil {
		t.Fatal(err)
	}
	want := got.Header.Clone()
	for k := range got.Header {
		got.Header[k] = append(got.Header[k], "more")
	}
	for k, vs := range want {
		if g := got.Header[k]; len(g) != len(vs)+1 || fmt.Sprint(g[:len(vs)]) != fmt.Sprint(vs) {
			t.Fatalf("%s = %q, want %q + more", k, g, vs)
		}
	}
	b := got.Body
	if cap(b) != len(b) {
		t.Fatalf("Body has spare capacity %d", cap(b)-len(b))
	}
}

func TestDecodeCorrupt(t *testing.T) {
	valid := encode(benchEntry("corrupt"))
	// Every truncation is corrupt.
	for n := range len(valid) {
		if _, err := decodeShared(valid[:n]); !errors.Is(err, stores.ErrCorrupt) {
			t.Fatalf("Decode of %d of %d bytes: %v, want ErrCorrupt", n, len(valid), err)
		}
	}
	// Every single-byte change in the meta section either fails with
	// ErrCorrupt or decodes (a changed string byte); never panics.
	for i := range len(valid) - 1024 {
		for _, x := range []byte{0x01, 0x80, 0xff} {
			b := bytes.Clone(valid)
			b[i] ^= x
			if _, err := decodeShared(b); err != nil && !errors.Is(err, stores.ErrCorrupt) {
				t.Fatalf("byte %d ^ %#x: %v, not ErrCorrupt", i, x, err)
			}
		}
	}
	unknown := bytes.Clone(valid)
	unknown[1] = 0
	if _, err := decodeShared(unknown); !errors.Is(err, stores.ErrCorrupt) || !errors.Is(err, errUnknownVersion) {
		t.Fatalf("version 0: %v", err)
	}
	for name, b := range map[string][]byte{
		"huge value count": {magic, version, 6, 0, 0, 0, 0, 0, 0xff},
		"bad flags":        {magic, version, 5, 0xf0, 0, 0, 0, 0},
		"bad nanoseconds":  append([]byte{magic, version, 17, 1, 0, 0, 0, 0, 0, 0, 0, 0}, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0),
		"varint overflow":  {magic, version, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
	} {
		if _, err := decodeShared(b); !errors.Is(err, stores.ErrCorrupt) {
			t.Errorf("%s: %v, want ErrCorrupt", name, err)
		}
	}
}

// TestGeneratedAtIsAnOptionalTail: an entry without GeneratedAt encodes as
// builds before it wrote entries (so that a snapshot of those loads), one
// with it adds its initial age at the end of the meta section, and an
// initial age without a CreatedAt to count from is corrupt.
func TestGeneratedAtIsAnOptionalTail(t *testing.T) {
	with := benchEntry("tail")
	// One name in each header: map order would make the two encodings
	// differ otherwise.
	with.Header = http.Header{"Date": {"Sat, 14 Mar 2026 15:09:26 GMT"}}
	with.RequestHeader = http.Header{"Accept": {"application/json"}}
	without := storetest.CloneEntry(with)
	without.GeneratedAt = time.Time{}
	a, b := encode(with), encode(without)
	meta := func(enc []byte) []byte {
		m, n := binary.Uvarint(enc[headerPrefix:])
		return enc[headerPrefix+n : headerPrefix+n+int(m)]
	}
	tail := binary.AppendUvarint(nil, uint64(with.CreatedAt.Sub(with.GeneratedAt)))
	if !bytes.Equal(meta(a), append(bytes.Clone(meta(b)), tail...)) {
		t.Fatal("with GeneratedAt, the meta section is not the one without it and the initial age after it")
	}
	got, err := decodeShared(b)
	if err != nil || !got.GeneratedAt.IsZero() {
		t.Fatalf("without: GeneratedAt %v, %v", got.GeneratedAt, err)
	}
	got, err = decodeShared(a)
	if err != nil || !got.GeneratedAt.Equal(with.GeneratedAt) {
		t.Fatalf("with: GeneratedAt %v, %v; want %v", got.GeneratedAt, err, with.GeneratedAt)
	}
	noCreated := benchEntry("tail")
	noCreated.CreatedAt = time.Time{}
	if got, err := decodeShared(encode(noCreated)); err != nil || !got.GeneratedAt.IsZero() {
		t.Fatalf("no CreatedAt: GeneratedAt %v, %v (not encoded)", got.GeneratedAt, err)
	}
	// A tail forged onto an entry without CreatedAt.
	m, _ := metaLen(noCreated)
	forged := []byte{magic, version}
	forged = binary.AppendUvarint(forged, uint64(m+1))
	forged = append(forged, encode(noCreated)[headerPrefix+uvarintLen(uint64(m)):]...)
	forged = append(forged[:len(forged)-len(noCreated.Body)], 7)
	forged = append(forged, noCreated.Body...)
	if _, err := decodeShared(forged); !errors.Is(err, stores.ErrCorrupt) {
		t.Fatalf("an initial age without CreatedAt: %v, want ErrCorrupt", err)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(encode(benchEntry("seed")))
	f.Add(encode(storetest.NewEntry("seed2")))
	f.Add(encode(&stores.Entry{}))
	f.Add(encode(&stores.Entry{Key: "k", Header: http.Header{"A": {}, "B": {"", "x"}}, Body: []byte{0}}))
	f.Add([]byte{})
	f.Add([]byte{magic, version})
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := decodeShared(b)
		if err != nil {
			if !errors.Is(err, stores.ErrCorrupt) {
				t.Fatalf("error not wrapping ErrCorrupt: %v", err)
			}
			return
		}
		owned, err := decodeOwned(bytes.Clone(b))
		if err != nil {
			t.Fatalf("Decode accepts what DecodeOwned rejects: %v", err)
		}
		if err := storetest.Compare(e, owned); err != nil {
			t.Fatalf("DecodeOwned differs from Decode: %v", err)
		}
		// What decodes, re-encodes to an encoding that decodes equal.
		again, err := decodeShared(encode(e))
		if err != nil {
			t.Fatalf("re-encoding of a decoded entry does not decode: %v", err)
		}
		if err := storetest.Compare(e, again); err != nil {
			t.Fatal(err)
		}
		if len(encode(e)) != entryLen(e) {
			t.Fatal("EncodedLen mismatch")
		}
	})
}

func BenchmarkDecode(b *testing.B) {
	enc := encode(benchEntry("bench"))
	b.SetBytes(int64(len(enc)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decodeShared(enc); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeOwned(b *testing.B) {
	enc := encode(benchEntry("bench"))
	b.SetBytes(int64(len(enc)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decodeOwned(enc); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncode(b *testing.B) {
	e := benchEntry("bench")
	buf := make([]byte, 0, entryLen(e))
	b.ReportAllocs()
	for b.Loop() {
		buf = appendEncode(buf[:0], e)
	}
}

func BenchmarkGet(b *testing.B) {
	s := newTestStore(b, config.Default().Memory)
	ctx := context.Background()
	keys := make([]string, 1000)
	for i := range keys {
		keys[i] = "GET https://api.example.com/v1/items/" + strconv.Itoa(i)
		if err := s.Set(ctx, benchEntry(keys[i])); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := s.Get(ctx, keys[i%len(keys)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkGetParallel(b *testing.B) {
	s := newTestStore(b, config.Default().Memory)
	ctx := context.Background()
	keys := make([]string, 1000)
	for i := range keys {
		keys[i] = "GET https://api.example.com/v1/items/" + strconv.Itoa(i)
		if err := s.Set(ctx, benchEntry(keys[i])); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := s.Get(ctx, keys[i%len(keys)]); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
}

// BenchmarkSet measures Set in steady state: the store is full and every
// Set evicts (the first fill of a store costs more: bigcache's queues grow
// and the kernel maps their pages in).
func BenchmarkSet(b *testing.B) {
	s := newTestStore(b, config.Memory{MaxSizeMB: 16, Shards: 16})
	ctx := context.Background()
	e := benchEntry("")
	keys := make([]string, 100000)
	for i := range keys {
		keys[i] = "GET https://api.example.com/v1/items/" + strconv.Itoa(i)
	}
	for i := range 2 * 16 << 20 / entryLen(e) {
		e.Key = keys[i%len(keys)]
		if err := s.Set(ctx, e); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		e.Key = keys[i%len(keys)]
		if err := s.Set(ctx, e); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
