// Package storetest is the conformance suite every stores.Store passes.
// A store's own test calls Run with a constructor:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) stores.Store {
//			s, err := memory.New(config.Memory{MaxSizeMB: 64, Shards: 8}, nil)
//			if err != nil {
//				t.Fatal(err)
//			}
//			return s
//		})
//	}
//
// The helpers (NewEntry, UniqueKey, Compare, TimeEqual) are exported for
// stores' own tests.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/reqcache/reqcache/stores"
)

// Run runs the conformance suite, one subtest per behaviour. newStore is
// called once per subtest and must return an open, empty store that no
// other call's store shares data with (for a database, a fresh
// collection); it may register its own cleanup with t.Cleanup. Run closes
// every store at the end of its subtest (Close is idempotent).
//
// What the suite requires beyond the comments of stores.Store:
//   - Times come back equal to what was set, or truncated to Precision (1 ms);
//     zero times stay zero.
//   - Get returns fresh, non-nil header maps (even for an entry stored
//     with nil ones): changing them, or appending to their value slices,
//     changes neither the store nor the map's other values.
//   - An entry past DiscardAt is stores.ErrNotFound on Get and skipped by
//     Scan; an entry merely past ExpiresAt is still returned.
//   - Every method called with an already cancelled context returns an
//     error wrapping context.Canceled and has no effect (stores check
//     ctx.Err() first; an in-memory store is not exempt).
//   - After Close every method returns an error wrapping stores.ErrClosed,
//     a second Close returns nil, and Close concurrent with calls in flight
//     neither panics nor races.
//   - A store implementing stores.ConditionalDeleter deletes exactly what
//     stores.Condition.Matches selects (the zero Condition deletes nothing)
//     and returns the count.
//   - A 1 MiB body round-trips.
//   - A store implementing stores.URIIndex removes with DeleteURI the
//     entries listed for that URIKey and the aliases set for it, and no
//     other resource's, whatever was overwritten, deleted or cleared
//     before.
func Run(t *testing.T, newStore func(t *testing.T) stores.Store) {
	open := func(t *testing.T) stores.Store {
		t.Helper()
		s := newStore(t)
		if s == nil {
			t.Fatal("newStore returned nil")
		}
		t.Cleanup(func() {
			if err := s.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
		return s
	}
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, s stores.Store)
	}{
		{"GetMissing", testGetMissing},
		{"RoundTrip", testRoundTrip},
		{"RoundTripEdgeCases", testRoundTripEdgeCases},
		{"LargeBody", testLargeBody},
		{"Overwrite", testOverwrite},
		{"Delete", testDelete},
		{"Len", testLen},
		{"Aliases", testAliases},
		{"ScanAliases", testScanAliases},
		{"Bytes", testBytes},
		{"Scan", testScan},
		{"ScanStops", testScanStops},
		{"Discarded", testDiscarded},
		{"DiscardedLater", testDiscardedLater},
		{"ExpiredStillReturned", testExpiredStillReturned},
		{"Clear", testClear},
		{"SetDoesNotRetain", testSetDoesNotRetain},
		{"GetReturnsFreshMaps", testGetReturnsFreshMaps},
		{"Concurrent", testConcurrent},
		{"CancelledContext", testCancelledContext},
		{"Close", testClose},
		{"CloseConcurrent", testCloseConcurrent},
		{"DeleteWhere", testDeleteWhere},
		{"Peek", testPeek},
		{"URIIndex", testURIIndex},
		{"URIIndexAfterChanges", testURIIndexAfterChanges},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func set(t *testing.T, s stores.Store, e *stores.Entry) {
	t.Helper()
	if err := s.Set(ctxFor(t), e); err != nil {
		t.Fatalf("Set(%q): %v", e.Key, err)
	}
}

func mustGet(t *testing.T, s stores.Store, key string) *stores.Entry {
	t.Helper()
	e, err := s.Get(ctxFor(t), key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	if e == nil {
		t.Fatalf("Get(%q) returned a nil entry and no error", key)
	}
	return e
}

func wantNotFound(t *testing.T, s stores.Store, key string) {
	t.Helper()
	e, err := s.Get(ctxFor(t), key)
	if !errors.Is(err, stores.ErrNotFound) {
		t.Fatalf("Get(%q) = %v, %v; want ErrNotFound", key, e, err)
	}
}

func wantLen(t *testing.T, s stores.Store, want int) {
	t.Helper()
	n, err := s.Len(ctxFor(t))
	if err != nil {
		t.Fatalf("Len: %v", err)
	}
	if n != want {
		t.Fatalf("Len = %d, want %d", n, want)
	}
}

func roundTrip(t *testing.T, s stores.Store, e *stores.Entry) {
	t.Helper()
	want := CloneEntry(e)
	set(t, s, e)
	got := mustGet(t, s, e.Key)
	if err := Compare(want, got); err != nil {
		t.Fatal(err)
	}
}

func scanKeys(t *testing.T, s stores.Store) []string {
	t.Helper()
	var keys []string
	err := s.Scan(ctxFor(t), func(e *stores.Entry) bool {
		keys = append(keys, e.Key)
		return true
	})
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	sort.Strings(keys)
	return keys
}

func testGetMissing(t *testing.T, s stores.Store) {
	wantNotFound(t, s, UniqueKey("missing"))
	_, err := s.GetAlias(ctxFor(t), UniqueKey("missing-alias"))
	if !errors.Is(err, stores.ErrNotFound) {
		t.Fatalf("GetAlias of a missing alias: %v, want ErrNotFound", err)
	}
}

func testRoundTrip(t *testing.T, s stores.Store) {
	roundTrip(t, s, NewEntry(UniqueKey("roundtrip")))
}

func testRoundTripEdgeCases(t *testing.T, s stores.Store) {
	binary := make([]byte, 256)
	for i := range binary {
		binary[i] = byte(i)
	}
	cases := map[string]func(e *stores.Entry){
		"binary body": func(e *stores.Entry) { e.Body = binary },
		"nil body":    func(e *stores.Entry) { e.Body = nil },
		"empty body":  func(e *stores.Entry) { e.Body = []byte{} },
		"zero times": func(e *stores.Entry) {
			e.RequestedAt, e.CreatedAt, e.ExpiresAt, e.DiscardAt = time.Time{}, base, time.Time{}, time.Time{}
		},
		"far future expiry": func(e *stores.Entry) {
			e.ExpiresAt = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)
		},
		"non-UTC times": func(e *stores.Entry) {
			zone := time.FixedZone("UTC+5:30", 5*3600+1800)
			e.RequestedAt, e.CreatedAt = base.In(zone), base.Add(time.Second).In(zone)
		},
		"no headers": func(e *stores.Entry) { e.Header, e.RequestHeader = nil, nil },
		"many values": func(e *stores.Entry) {
			e.Header = http.Header{}
			for i := range 40 {
				e.Header[fmt.Sprintf("X-H%02d", i)] = []string{fmt.Sprint(i), "", fmt.Sprint(-i)}
			}
		},
		"odd strings": func(e *stores.Entry) {
			e.Method = "PURGE"
			e.URL = "http://ex.test/ü/%00?q=ä&x=$y.z"
			e.Header = http.Header{"X-Odd": {"", "ü\x00\xff", " spaces "}, "lowercase-name": {"kept"}}
		},
		"status 304": func(e *stores.Entry) { e.StatusCode = http.StatusNotModified; e.Body = nil },
		"status 599": func(e *stores.Entry) { e.StatusCode = 599 },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			e := NewEntry(UniqueKey("edge"))
			mutate(e)
			roundTrip(t, s, e)
		})
	}
	t.Run("unicode key", func(t *testing.T) {
		roundTrip(t, s, NewEntry(UniqueKey("ключ/ü.$x y")))
	})
	t.Run("long key", func(t *testing.T) {
		k := UniqueKey("long")
		roundTrip(t, s, NewEntry(k+string(bytes.Repeat([]byte("k"), 400))))
	})
}

func testLargeBody(t *testing.T, s stores.Store) {
	e := NewEntry(UniqueKey("large"))
	e.Body = make([]byte, 1<<20)
	for i := range e.Body {
		e.Body[i] = byte(i * 7 >> 3)
	}
	roundTrip(t, s, e)
}

func testOverwrite(t *testing.T, s stores.Store) {
	k := UniqueKey("overwrite")
	set(t, s, NewEntry(k))
	e2 := NewEntry(k)
	e2.StatusCode = http.StatusNotFound
	e2.Body = []byte("second")
	e2.Header = http.Header{"X-Version": {"2"}}
	e2.ExpiresAt = time.Time{}
	roundTrip(t, s, e2)
	wantLen(t, s, 1)
}

func testDelete(t *testing.T, s stores.Store) {
	ctx := ctxFor(t)
	k1, k2, k3 := UniqueKey("del1"), UniqueKey("del2"), UniqueKey("del3")
	for _, k := range []string{k1, k2, k3} {
		set(t, s, NewEntry(k))
	}
	n, err := s.Delete(ctx, k1, UniqueKey("missing"), k2)
	if err != nil || n != 2 {
		t.Fatalf("Delete(2 existing, 1 missing) = %d, %v; want 2, nil", n, err)
	}
	wantNotFound(t, s, k1)
	wantNotFound(t, s, k2)
	mustGet(t, s, k3)
	if n, err := s.Delete(ctx, k1); err != nil || n != 0 {
		t.Fatalf("Delete of a deleted key = %d, %v; want 0, nil", n, err)
	}
	if n, err := s.Delete(ctx); err != nil || n != 0 {
		t.Fatalf("Delete() = %d, %v; want 0, nil", n, err)
	}
	wantLen(t, s, 1)
	// A deleted key can be set again.
	roundTrip(t, s, NewEntry(k1))
}

func testLen(t *testing.T, s stores.Store) {
	ctx := ctxFor(t)
	wantLen(t, s, 0)
	for i := range 5 {
		k := UniqueKey(fmt.Sprint("len", i))
		set(t, s, NewEntry(k))
		if err := s.SetAlias(ctx, UniqueKey("len-alias"), k); err != nil {
			t.Fatalf("SetAlias: %v", err)
		}
	}
	wantLen(t, s, 5)
}

// testBytes checks stores.Sizer, for stores that have it: an answer, not
// negative, that does not shrink when entries are stored. (What it counts
// is the store's own measure: the memory store's allocated capacity,
// MongoDB's collection size.)
func testBytes(t *testing.T, s stores.Store) {
	sz, ok := s.(stores.Sizer)
	if !ok {
		t.Skip("the store does not report its size")
	}
	ctx := ctxFor(t)
	before, err := sz.Bytes(ctx)
	if err != nil || before < 0 {
		t.Fatalf("Bytes = %d, %v", before, err)
	}
	for i := 0; i < 20; i++ {
		e := NewEntry(UniqueKey(fmt.Sprintf("bytes-%d", i)))
		e.Body = bytes.Repeat([]byte("x"), 4096)
		set(t, s, e)
	}
	after, err := sz.Bytes(ctx)
	if err != nil || after < before {
		t.Fatalf("Bytes after storing 80 KiB: %d (before %d), %v", after, before, err)
	}
}

// testScanAliases checks stores.AliasScanner, for stores that have it:
// every alias set is listed with its value, and fn returning false stops.
func testScanAliases(t *testing.T, s stores.Store) {
	sc, ok := s.(stores.AliasScanner)
	if !ok {
		t.Skip("the store does not list its aliases")
	}
	ctx := ctxFor(t)
	want := map[string]string{UniqueKey("scan-a"): "v:Accept|k1 k2", UniqueKey("scan-b"): "r:k3"}
	for a, v := range want {
		if err := s.SetAlias(ctx, a, v); err != nil {
			t.Fatalf("SetAlias: %v", err)
		}
	}
	got := map[string]string{}
	if err := sc.ScanAliases(ctx, func(a, v string) bool { got[a] = v; return true }); err != nil {
		t.Fatalf("ScanAliases: %v", err)
	}
	for a, v := range want {
		if got[a] != v {
			t.Fatalf("ScanAliases listed %q for %s, want %q", got[a], a, v)
		}
	}
	calls := 0
	if err := sc.ScanAliases(ctx, func(string, string) bool { calls++; return false }); err != nil || calls != 1 {
		t.Fatalf("ScanAliases after fn returned false: %d calls, %v", calls, err)
	}
}

func testAliases(t *testing.T, s stores.Store) {
	ctx := ctxFor(t)
	a, b := UniqueKey("alias-a"), UniqueKey("alias-b")
	if err := s.SetAlias(ctx, a, "target-1"); err != nil {
		t.Fatalf("SetAlias: %v", err)
	}
	if err := s.SetAlias(ctx, b, ""); err != nil {
		t.Fatalf("SetAlias(empty value): %v", err)
	}
	if v, err := s.GetAlias(ctx, a); err != nil || v != "target-1" {
		t.Fatalf("GetAlias = %q, %v; want target-1", v, err)
	}
	if v, err := s.GetAlias(ctx, b); err != nil || v != "" {
		t.Fatalf("GetAlias(empty value) = %q, %v; want \"\"", v, err)
	}
	if err := s.SetAlias(ctx, a, "target-2"); err != nil {
		t.Fatalf("SetAlias (overwrite): %v", err)
	}
	if v, err := s.GetAlias(ctx, a); err != nil || v != "target-2" {
		t.Fatalf("GetAlias after overwrite = %q, %v; want target-2", v, err)
	}
	// Aliases and entries are separate namespaces.
	wantNotFound(t, s, a)
	k := UniqueKey("alias-entry")
	set(t, s, NewEntry(k))
	if _, err := s.GetAlias(ctx, k); !errors.Is(err, stores.ErrNotFound) {
		t.Fatalf("GetAlias of an entry key: %v, want ErrNotFound", err)
	}
	if err := s.DeleteAlias(ctx, a, UniqueKey("missing")); err != nil {
		t.Fatalf("DeleteAlias: %v", err)
	}
	if err := s.DeleteAlias(ctx); err != nil {
		t.Fatalf("DeleteAlias(): %v", err)
	}
	if _, err := s.GetAlias(ctx, a); !errors.Is(err, stores.ErrNotFound) {
		t.Fatalf("GetAlias after DeleteAlias: %v, want ErrNotFound", err)
	}
	if v, err := s.GetAlias(ctx, b); err != nil || v != "" {
		t.Fatalf("other alias after DeleteAlias = %q, %v", v, err)
	}
	mustGet(t, s, k)
	// Deleting an entry leaves aliases alone.
	if err := s.SetAlias(ctx, k, "x"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Delete(ctx, k); err != nil {
		t.Fatal(err)
	}
	if v, err := s.GetAlias(ctx, k); err != nil || v != "x" {
		t.Fatalf("alias after deleting the entry with its name = %q, %v", v, err)
	}
}

func testScan(t *testing.T, s stores.Store) {
	var want []string
	entries := map[string]*stores.Entry{}
	for i := range 20 {
		e := NewEntry(UniqueKey(fmt.Sprint("scan", i)))
		e.Body = []byte(fmt.Sprint("body ", i))
		want = append(want, e.Key)
		entries[e.Key] = CloneEntry(e)
		set(t, s, e)
	}
	if err := s.SetAlias(ctxFor(t), UniqueKey("scan-alias"), want[0]); err != nil {
		t.Fatal(err)
	}
	sort.Strings(want)
	seen := map[string]int{}
	err := s.Scan(ctxFor(t), func(e *stores.Entry) bool {
		seen[e.Key]++
		if w := entries[e.Key]; w == nil {
			t.Errorf("Scan visited unknown key %q", e.Key)
		} else if err := Compare(w, e); err != nil {
			t.Errorf("Scan: %v", err)
		}
		return true
	})
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	for _, k := range want {
		if seen[k] != 1 {
			t.Errorf("Scan visited %q %d times, want once", k, seen[k])
		}
	}
	if len(seen) != len(want) {
		t.Errorf("Scan visited %d keys, want %d", len(seen), len(want))
	}
}

func testScanStops(t *testing.T, s stores.Store) {
	for i := range 10 {
		set(t, s, NewEntry(UniqueKey(fmt.Sprint("stop", i))))
	}
	calls := 0
	err := s.Scan(ctxFor(t), func(*stores.Entry) bool { calls++; return calls < 3 })
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	if calls != 3 {
		t.Fatalf("fn called %d times after returning false on the 3rd, want 3", calls)
	}
}

func testDiscarded(t *testing.T, s stores.Store) {
	live := NewEntry(UniqueKey("live"))
	gone := NewEntry(UniqueKey("discarded"))
	gone.ExpiresAt = time.Now().Add(-2 * time.Hour)
	gone.DiscardAt = time.Now().Add(-time.Hour)
	set(t, s, live)
	if err := s.Set(ctxFor(t), gone); err != nil {
		t.Fatalf("Set of an entry already past DiscardAt: %v (want nil: storing it or not is up to the store)", err)
	}
	if got := scanKeys(t, s); len(got) != 1 || got[0] != live.Key {
		t.Fatalf("Scan visited %q, want only %q", got, live.Key)
	}
	wantNotFound(t, s, gone.Key)
	mustGet(t, s, live.Key)
}

func testDiscardedLater(t *testing.T, s stores.Store) {
	e := NewEntry(UniqueKey("discard-soon"))
	e.ExpiresAt = time.Now()
	e.DiscardAt = time.Now().Add(500 * time.Millisecond)
	set(t, s, e)
	mustGet(t, s, e.Key)
	time.Sleep(time.Until(e.DiscardAt) + 20*time.Millisecond)
	wantNotFound(t, s, e.Key)
	if got := scanKeys(t, s); len(got) != 0 {
		t.Fatalf("Scan visited %q after DiscardAt", got)
	}
}

func testExpiredStillReturned(t *testing.T, s stores.Store) {
	e := NewEntry(UniqueKey("expired"))
	e.ExpiresAt = time.Now().Add(-time.Hour).UTC()
	roundTrip(t, s, e)
	e2 := NewEntry(UniqueKey("expired-no-discard"))
	e2.ExpiresAt = time.Now().Add(-time.Hour).UTC()
	e2.DiscardAt = time.Time{}
	roundTrip(t, s, e2)
	if got := scanKeys(t, s); len(got) != 2 {
		t.Fatalf("Scan visited %q, want both expired entries", got)
	}
}

func testClear(t *testing.T, s stores.Store) {
	ctx := ctxFor(t)
	var keys []string
	for i := range 5 {
		k := UniqueKey(fmt.Sprint("clear", i))
		keys = append(keys, k)
		set(t, s, NewEntry(k))
		if err := s.SetAlias(ctx, k, "v"); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Clear(ctx); err != nil {
		t.Fatalf("Clear: %v", err)
	}
	wantLen(t, s, 0)
	for _, k := range keys {
		wantNotFound(t, s, k)
		if _, err := s.GetAlias(ctx, k); !errors.Is(err, stores.ErrNotFound) {
			t.Fatalf("GetAlias after Clear: %v, want ErrNotFound", err)
		}
	}
	if got := scanKeys(t, s); len(got) != 0 {
		t.Fatalf("Scan after Clear visited %q", got)
	}
	// Still usable.
	roundTrip(t, s, NewEntry(keys[0]))
	wantLen(t, s, 1)
}

func testSetDoesNotRetain(t *testing.T, s stores.Store) {
	e := NewEntry(UniqueKey("retain"))
	want := CloneEntry(e)
	set(t, s, e)
	e.Header["Cache-Control"][0] = "changed"
	e.Header["Set-Cookie"] = append(e.Header["Set-Cookie"][:1], "changed")
	e.Header.Set("X-Added", "after Set")
	e.RequestHeader["Accept"][0] = "changed"
	e.Body[0] ^= 0xff
	e.StatusCode = 500
	e.URL = "changed"
	got := mustGet(t, s, want.Key)
	if err := Compare(want, got); err != nil {
		t.Fatalf("entry changed by mutating what was passed to Set: %v", err)
	}
}

func testGetReturnsFreshMaps(t *testing.T, s stores.Store) {
	e := NewEntry(UniqueKey("fresh"))
	want := CloneEntry(e)
	set(t, s, e)
	got := mustGet(t, s, e.Key)
	before := got.Header.Clone()
	// Appending to one value slice must not overwrite another's values
	// (stores may back all values with one array).
	for k := range got.Header {
		got.Header[k] = append(got.Header[k], "appended "+k)
	}
	for k, vs := range before {
		wantVals := append(append([]string(nil), vs...), "appended "+k)
		if fmt.Sprint(got.Header[k]) != fmt.Sprint(wantVals) {
			t.Fatalf("after appending to every header, %s = %q, want %q", k, got.Header[k], wantVals)
		}
	}
	for k := range got.RequestHeader {
		got.RequestHeader[k] = append(got.RequestHeader[k], "appended")
	}
	got.Header.Set("X-New", "1")
	got.Header.Del("Etag")
	got.RequestHeader.Set("X-New", "1")
	again := mustGet(t, s, e.Key)
	if err := Compare(want, again); err != nil {
		t.Fatalf("changing a returned entry's maps changed the store: %v", err)
	}
	// Maps are non-nil even for an entry stored without headers, so
	// callers can add to them.
	bare := NewEntry(UniqueKey("bare"))
	bare.Header, bare.RequestHeader = nil, nil
	set(t, s, bare)
	g := mustGet(t, s, bare.Key)
	func() {
		defer func() {
			if r := recover(); r != nil {
				t.Fatalf("adding to the header maps of an entry stored without headers panicked: %v", r)
			}
		}()
		g.Header.Set("X-A", "1")
		g.RequestHeader.Set("X-A", "1")
	}()
}

func testConcurrent(t *testing.T, s stores.Store) {
	const workers, ops = 8, 150
	keys := make([]string, 16)
	for i := range keys {
		keys[i] = UniqueKey(fmt.Sprint("conc", i))
	}
	bodyFor := func(k string, version int) []byte { return []byte(fmt.Sprintf("%s#%d", k, version)) }
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := context.Background()
			for i := range ops {
				k := keys[(w*7+i)%len(keys)]
				switch i % 6 {
				case 0, 1:
					e := NewEntry(k)
					e.Body = bodyFor(k, w*ops+i)
					e.Header.Set("X-Writer", fmt.Sprint(w))
					if err := s.Set(ctx, e); err != nil {
						errs <- fmt.Errorf("s.Set: %w", err)
						return
					}
				case 2, 3:
					e, err := s.Get(ctx, k)
					if errors.Is(err, stores.ErrNotFound) {
						continue
					}
					if err != nil {
						errs <- fmt.Errorf("s.Get: %w", err)
						return
					}
					if e.Key != k || !bytes.HasPrefix(e.Body, []byte(k+"#")) || len(e.Header["X-Writer"]) != 1 {
						errs <- fmt.Errorf("Get(%q) returned a torn entry: key %q body %q", k, e.Key, e.Body)
						return
					}
					e.Header.Set("X-Mutated", "1") // the caller owns the maps
				case 4:
					if _, err := s.Delete(ctx, k); err != nil {
						errs <- fmt.Errorf("s.Delete: %w", err)
						return
					}
				case 5:
					if err := s.SetAlias(ctx, k, fmt.Sprint(w)); err != nil {
						errs <- fmt.Errorf("s.SetAlias: %w", err)
						return
					}
					if _, err := s.GetAlias(ctx, k); err != nil && !errors.Is(err, stores.ErrNotFound) {
						errs <- fmt.Errorf("s.GetAlias: %w", err)
						return
					}
					if i%30 == 5 {
						if err := s.Scan(ctx, func(*stores.Entry) bool { return true }); err != nil {
							errs <- fmt.Errorf("s.Scan: %w", err)
							return
						}
						if _, err := s.Len(ctx); err != nil {
							errs <- fmt.Errorf("s.Len: %w", err)
							return
						}
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	n, err := s.Len(ctxFor(t))
	if err != nil || n > len(keys) {
		t.Fatalf("Len after concurrent use = %d, %v; want at most %d", n, err, len(keys))
	}
}

func testCancelledContext(t *testing.T, s stores.Store) {
	live := NewEntry(UniqueKey("cancel-live"))
	set(t, s, live)
	if err := s.SetAlias(ctxFor(t), live.Key, "v"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	check := func(op string, err error) {
		t.Helper()
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a cancelled context: %v, want an error wrapping context.Canceled", op, err)
		}
	}
	_, err := s.Get(ctx, live.Key)
	check("Get", err)
	fresh := NewEntry(UniqueKey("cancel-set"))
	check("Set", s.Set(ctx, fresh))
	_, err = s.Delete(ctx, live.Key)
	check("Delete", err)
	_, err = s.GetAlias(ctx, live.Key)
	check("GetAlias", err)
	check("SetAlias", s.SetAlias(ctx, fresh.Key, "v"))
	check("DeleteAlias", s.DeleteAlias(ctx, live.Key))
	called := false
	check("Scan", s.Scan(ctx, func(*stores.Entry) bool { called = true; return true }))
	if called {
		t.Error("Scan with a cancelled context called fn")
	}
	_, err = s.Len(ctx)
	check("Len", err)
	check("Clear", s.Clear(ctx))
	if cd, ok := s.(stores.ConditionalDeleter); ok {
		_, err := cd.DeleteWhere(ctx, stores.Condition{CreatedBefore: time.Now().Add(time.Hour)})
		check("DeleteWhere", err)
	}
	// None of them had an effect.
	mustGet(t, s, live.Key)
	wantNotFound(t, s, fresh.Key)
	if v, err := s.GetAlias(ctxFor(t), live.Key); err != nil || v != "v" {
		t.Errorf("alias after cancelled calls = %q, %v", v, err)
	}
	if _, err := s.GetAlias(ctxFor(t), fresh.Key); !errors.Is(err, stores.ErrNotFound) {
		t.Errorf("SetAlias with a cancelled context stored the alias: %v", err)
	}
	wantLen(t, s, 1)
}

func testClose(t *testing.T, s stores.Store) {
	k := UniqueKey("closed")
	set(t, s, NewEntry(k))
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v, want nil", err)
	}
	ctx := ctxFor(t)
	check := func(op string, err error) {
		t.Helper()
		if !errors.Is(err, stores.ErrClosed) {
			t.Errorf("%s after Close: %v, want ErrClosed", op, err)
		}
	}
	_, err := s.Get(ctx, k)
	check("Get", err)
	check("Set", s.Set(ctx, NewEntry(k)))
	_, err = s.Delete(ctx, k)
	check("Delete", err)
	_, err = s.GetAlias(ctx, k)
	check("GetAlias", err)
	check("SetAlias", s.SetAlias(ctx, k, "v"))
	check("DeleteAlias", s.DeleteAlias(ctx, k))
	check("Scan", s.Scan(ctx, func(*stores.Entry) bool { return true }))
	_, err = s.Len(ctx)
	check("Len", err)
	check("Clear", s.Clear(ctx))
	if cd, ok := s.(stores.ConditionalDeleter); ok {
		_, err := cd.DeleteWhere(ctx, stores.Condition{CreatedBefore: time.Now()})
		check("DeleteWhere", err)
	}
}

func testCloseConcurrent(t *testing.T, s stores.Store) {
	keys := make([]string, 8)
	for i := range keys {
		keys[i] = UniqueKey(fmt.Sprint("close-conc", i))
		set(t, s, NewEntry(keys[i]))
	}
	ok := func(err error) bool {
		return err == nil || errors.Is(err, stores.ErrNotFound) || errors.Is(err, stores.ErrClosed)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	start := make(chan struct{})
	for w := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := context.Background()
			<-start
			for i := 0; ; i++ {
				k := keys[(w+i)%len(keys)]
				var err error
				switch i % 4 {
				case 0:
					_, err = s.Get(ctx, k)
				case 1:
					err = s.Set(ctx, NewEntry(k))
				case 2:
					err = s.Scan(ctx, func(*stores.Entry) bool { return true })
				case 3:
					_, err = s.GetAlias(ctx, k)
				}
				if !ok(err) {
					errs <- err
					return
				}
				if errors.Is(err, stores.ErrClosed) {
					return
				}
			}
		}()
	}
	close(start)
	time.Sleep(20 * time.Millisecond)
	var cwg sync.WaitGroup
	for range 2 {
		cwg.Add(1)
		go func() {
			defer cwg.Done()
			if err := s.Close(); err != nil {
				errs <- fmt.Errorf("s.Close: %w", err)
			}
		}()
	}
	cwg.Wait()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("call concurrent with Close: %v", err)
	}
}

func testDeleteWhere(t *testing.T, s stores.Store) {
	cd, ok := s.(stores.ConditionalDeleter)
	if !ok {
		t.Skip("store does not implement stores.ConditionalDeleter")
	}
	ctx := ctxFor(t)
	now := time.Now().UTC().Truncate(time.Millisecond) // MongoDB keeps milliseconds
	mk := func(name string, created, expires time.Time) *stores.Entry {
		e := NewEntry(UniqueKey(name))
		e.RequestedAt = created.Add(-time.Millisecond)
		e.CreatedAt, e.ExpiresAt, e.DiscardAt = created, expires, time.Time{}
		set(t, s, e)
		return e
	}
	a := mk("old-expired", now.Add(-3*time.Hour), now.Add(-2*time.Hour))
	b := mk("fresh-1h", now.Add(-time.Hour), now.Add(time.Hour))
	c := mk("never-expires", now.Add(-30*time.Minute), time.Time{})
	d := mk("just-expired", now, now.Add(-10*time.Minute))
	// Expires at the very instant asked about: expired, as Entry.Expired
	// says, so a lookup and a delete agree on it.
	edge := mk("expires-now", now.Add(-time.Minute), now)
	if err := s.SetAlias(ctx, a.Key, "alias stays"); err != nil {
		t.Fatal(err)
	}
	remaining := func(want ...*stores.Entry) {
		t.Helper()
		var keys []string
		for _, e := range want {
			keys = append(keys, e.Key)
		}
		sort.Strings(keys)
		if got := scanKeys(t, s); fmt.Sprint(got) != fmt.Sprint(keys) {
			t.Fatalf("remaining entries %q, want %q", got, keys)
		}
	}
	del := func(c stores.Condition, want int) {
		t.Helper()
		n, err := cd.DeleteWhere(ctx, c)
		if err != nil || n != want {
			t.Fatalf("DeleteWhere(%+v) = %d, %v; want %d, nil", c, n, err, want)
		}
	}
	del(stores.Condition{}, 0)
	remaining(a, b, c, d, edge)
	del(stores.Condition{ExpiredAt: now.Add(-time.Millisecond)}, 2) // a, d
	remaining(b, c, edge)
	del(stores.Condition{ExpiredAt: now}, 1) // edge
	remaining(b, c)
	del(stores.Condition{ExpiredAt: now}, 0)
	del(stores.Condition{CreatedBefore: now.Add(-45 * time.Minute)}, 1) // b
	remaining(c)
	e := mk("expiry-only", now, now.Add(time.Hour))
	f := mk("neither", now, now.Add(2*time.Hour))
	remaining(c, e, f)
	// Either condition selects: c by creation, e by expiry.
	del(stores.Condition{ExpiredAt: now.Add(90 * time.Minute), CreatedBefore: now.Add(-20 * time.Minute)}, 2)
	remaining(f)
	if v, err := s.GetAlias(ctx, a.Key); err != nil || v != "alias stays" {
		t.Fatalf("DeleteWhere touched an alias: %q, %v", v, err)
	}
	wantLen(t, s, 1)
}

// testPeek checks stores.Peeker, for the stores that implement it: Peek
// answers what Get answers, sees every Set, Delete and Clear, and a Get
// after a Peek still returns maps the caller owns.
func testPeek(t *testing.T, s stores.Store) {
	p, ok := s.(stores.Peeker)
	if !ok {
		t.Skip("the store does not implement stores.Peeker")
	}
	ctx := ctxFor(t)
	peek := func(key string) *stores.Entry {
		t.Helper()
		e, err := p.Peek(ctx, key)
		if err != nil {
			t.Fatalf("Peek(%q): %v", key, err)
		}
		return e
	}
	if _, err := p.Peek(ctx, UniqueKey("peek-missing")); !errors.Is(err, stores.ErrNotFound) {
		t.Fatalf("Peek of a missing key: %v, want ErrNotFound", err)
	}
	e := NewEntry(UniqueKey("peek"))
	want := CloneEntry(e)
	set(t, s, e)
	for i := range 3 { // a first read, then repeated ones (stores may keep decoded entries)
		if err := Compare(want, peek(e.Key)); err != nil {
			t.Fatalf("Peek #%d: %v", i+1, err)
		}
	}
	got := mustGet(t, s, e.Key)
	got.Header.Set("X-Changed", "by the caller of Get")
	got.RequestHeader.Set("X-Changed", "by the caller of Get")
	if err := Compare(want, peek(e.Key)); err != nil {
		t.Fatalf("changing Get's entry changed what Peek lends: %v", err)
	}

	replaced := NewEntry(e.Key)
	replaced.Body = []byte("replaced")
	replaced.Header.Set("Etag", `"v2"`)
	set(t, s, replaced)
	if err := Compare(replaced, peek(e.Key)); err != nil {
		t.Fatalf("Peek after a Set: %v", err)
	}
	if _, err := s.Delete(ctx, e.Key); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Peek(ctx, e.Key); !errors.Is(err, stores.ErrNotFound) {
		t.Fatalf("Peek after Delete: %v, want ErrNotFound", err)
	}
	set(t, s, NewEntry(e.Key))
	peek(e.Key)
	if err := s.Clear(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Peek(ctx, e.Key); !errors.Is(err, stores.ErrNotFound) {
		t.Fatalf("Peek after Clear: %v, want ErrNotFound", err)
	}
	discarded := NewEntry(UniqueKey("peek-discarded"))
	discarded.DiscardAt = time.Now().Add(-time.Minute)
	_ = s.Set(ctx, discarded) // a store may refuse it outright
	if _, err := p.Peek(ctx, discarded.Key); !errors.Is(err, stores.ErrNotFound) {
		t.Fatalf("Peek of an entry past DiscardAt: %v, want ErrNotFound", err)
	}
}

// testURIIndex checks stores.URIIndex: DeleteURI removes a resource's
// entries and its aliases, nothing else.
func testURIIndex(t *testing.T, s stores.Store) {
	ix, ok := s.(stores.URIIndex)
	if !ok {
		t.Skip("store does not implement stores.URIIndex")
	}
	ctx := ctxFor(t)
	mk := func(name, uri string) *stores.Entry {
		e := NewEntry(UniqueKey(name))
		e.URIKey = uri
		set(t, s, e)
		if err := ix.IndexEntry(ctx, uri, e.Key); err != nil {
			t.Fatal(err)
		}
		return e
	}
	uri, other := UniqueKey("uri"), UniqueKey("other")
	a, b, c := mk("alice", uri), mk("bob", uri), mk("variant", uri)
	keep := mk("other resource", other)
	if err := ix.SetAliasFor(ctx, uri, a.Key+"|index", "v:Accept|"+c.Key); err != nil {
		t.Fatal(err)
	}
	if err := ix.SetAliasFor(ctx, other, keep.Key+"|index", "kept"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetAlias(ctx, a.Key+"|plain", "plain stays"); err != nil {
		t.Fatal(err)
	}
	if v, err := s.GetAlias(ctx, a.Key+"|index"); err != nil || v != "v:Accept|"+c.Key {
		t.Fatalf("GetAlias of an alias set for a resource = %q, %v", v, err)
	}
	n, err := ix.DeleteURI(ctx, uri)
	if err != nil || n != 3 {
		t.Fatalf("DeleteURI = %d, %v; want 3, nil", n, err)
	}
	for _, e := range []*stores.Entry{a, b, c} {
		wantNotFound(t, s, e.Key)
	}
	if _, err := s.GetAlias(ctx, a.Key+"|index"); !errors.Is(err, stores.ErrNotFound) {
		t.Fatalf("the resource's alias outlived DeleteURI: %v", err)
	}
	if err := Compare(keep, mustGet(t, s, keep.Key)); err != nil {
		t.Fatalf("another resource's entry changed: %v", err)
	}
	for alias, want := range map[string]string{a.Key + "|plain": "plain stays", keep.Key + "|index": "kept"} {
		if v, err := s.GetAlias(ctx, alias); err != nil || v != want {
			t.Fatalf("GetAlias(%s) = %q, %v after another resource's DeleteURI", alias, v, err)
		}
	}
	if n, err := ix.DeleteURI(ctx, uri); err != nil || n != 0 {
		t.Fatalf("a second DeleteURI = %d, %v; want 0, nil", n, err)
	}
	if n, err := ix.DeleteURI(ctx, UniqueKey("never")); err != nil || n != 0 {
		t.Fatalf("DeleteURI of an unknown resource = %d, %v", n, err)
	}
}

// testURIIndexAfterChanges checks that DeleteURI follows overwrites,
// deletes and Clear: what is stored now is what it removes.
func testURIIndexAfterChanges(t *testing.T, s stores.Store) {
	ix, ok := s.(stores.URIIndex)
	if !ok {
		t.Skip("store does not implement stores.URIIndex")
	}
	ctx := ctxFor(t)
	uri := UniqueKey("uri")
	index := func(e *stores.Entry) {
		t.Helper()
		set(t, s, e)
		if err := ix.IndexEntry(ctx, uri, e.Key); err != nil {
			t.Fatal(err)
		}
	}
	e := NewEntry(UniqueKey("entry"))
	e.URIKey = uri
	index(e)
	index(e) // overwritten with itself, listed again
	gone := NewEntry(UniqueKey("deleted"))
	gone.URIKey = uri
	index(gone)
	if _, err := s.Delete(ctx, gone.Key); err != nil {
		t.Fatal(err)
	}
	if n, err := ix.DeleteURI(ctx, uri); err != nil || n != 1 {
		t.Fatalf("DeleteURI after an overwrite and a delete = %d, %v; want 1", n, err)
	}
	wantNotFound(t, s, e.Key)
	index(e)
	if err := s.Clear(ctx); err != nil {
		t.Fatal(err)
	}
	if n, err := ix.DeleteURI(ctx, uri); err != nil || n != 0 {
		t.Fatalf("DeleteURI after Clear = %d, %v; want 0", n, err)
	}
	index(e)
	if n, err := ix.DeleteURI(ctx, uri); err != nil || n != 1 {
		t.Fatalf("DeleteURI of an entry stored after Clear = %d, %v; want 1", n, err)
	}
}
