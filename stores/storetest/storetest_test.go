package storetest

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/reqcache/reqcache/stores"
)

// refStore is a plain map-backed store that keeps times at millisecond
// precision, like MongoDB, and implements ConditionalDeleter: it checks
// that the suite itself passes a correct store, including the parts the
// memory store does not exercise.
type refStore struct {
	mu      sync.Mutex
	entries map[string]*stores.Entry
	aliases map[string]string
	closed  bool
}

func newRefStore() *refStore {
	return &refStore{entries: map[string]*stores.Entry{}, aliases: map[string]string{}}
}

func (s *refStore) lock(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return stores.ErrClosed
	}
	return nil
}

func ms(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.Truncate(time.Millisecond)
}

func (s *refStore) Get(ctx context.Context, key string) (*stores.Entry, error) {
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	e, ok := s.entries[key]
	if !ok || e.Discarded(time.Now()) {
		return nil, stores.ErrNotFound
	}
	c := CloneEntry(e)
	if c.Header == nil {
		c.Header = http.Header{}
	}
	if c.RequestHeader == nil {
		c.RequestHeader = http.Header{}
	}
	return c, nil
}

func (s *refStore) Set(ctx context.Context, e *stores.Entry) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	c := CloneEntry(e)
	c.RequestedAt, c.CreatedAt, c.ExpiresAt, c.DiscardAt = ms(c.RequestedAt), ms(c.CreatedAt), ms(c.ExpiresAt), ms(c.DiscardAt)
	s.entries[e.Key] = c
	return nil
}

func (s *refStore) Delete(ctx context.Context, keys ...string) (int, error) {
	if err := s.lock(ctx); err != nil {
		return 0, err
	}
	defer s.mu.Unlock()
	n := 0
	for _, k := range keys {
		if _, ok := s.entries[k]; ok {
			delete(s.entries, k)
			n++
		}
	}
	return n, nil
}

func (s *refStore) GetAlias(ctx context.Context, alias string) (string, error) {
	if err := s.lock(ctx); err != nil {
		return "", err
	}
	defer s.mu.Unlock()
	v, ok := s.aliases[alias]
	if !ok {
		return "", stores.ErrNotFound
	}
	return v, nil
}

func (s *refStore) SetAlias(ctx context.Context, alias, value string) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	s.aliases[alias] = value
	return nil
}

func (s *refStore) DeleteAlias(ctx context.Context, aliases ...string) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	for _, a := range aliases {
		delete(s.aliases, a)
	}
	return nil
}

func (s *refStore) Scan(ctx context.Context, fn func(*stores.Entry) bool) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	var list []*stores.Entry
	now := time.Now()
	for _, e := range s.entries {
		if !e.Discarded(now) {
			list = append(list, CloneEntry(e))
		}
	}
	s.mu.Unlock()
	for _, e := range list {
		if !fn(e) {
			break
		}
	}
	return nil
}

func (s *refStore) Len(ctx context.Context) (int, error) {
	if err := s.lock(ctx); err != nil {
		return 0, err
	}
	defer s.mu.Unlock()
	return len(s.entries), nil
}

func (s *refStore) Clear(ctx context.Context) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	clear(s.entries)
	clear(s.aliases)
	return nil
}

func (s *refStore) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}

func (s *refStore) DeleteWhere(ctx context.Context, c stores.Condition) (int, error) {
	if err := s.lock(ctx); err != nil {
		return 0, err
	}
	defer s.mu.Unlock()
	n := 0
	for k, e := range s.entries {
		if c.Matches(e) {
			delete(s.entries, k)
			n++
		}
	}
	return n, nil
}

var _ stores.ConditionalDeleter = (*refStore)(nil)

func TestSuiteOnReferenceStore(t *testing.T) {
	Run(t, func(*testing.T) stores.Store { return newRefStore() })
}

func TestTimeEqual(t *testing.T) {
	tm := time.Date(2026, 1, 2, 3, 4, 5, 678912345, time.UTC)
	for _, tc := range []struct {
		want, got time.Time
		ok        bool
	}{
		{tm, tm, true},
		{tm, tm.Truncate(time.Millisecond), true},
		{tm, tm.In(time.FixedZone("x", 3600)), true},
		{tm, tm.Truncate(time.Second), false},
		{tm, tm.Round(time.Millisecond), false},
		{tm, time.Time{}, false},
		{time.Time{}, time.Time{}, true},
		{time.Time{}, time.Unix(0, 0), false},
	} {
		if got := TimeEqual(tc.want, tc.got); got != tc.ok {
			t.Errorf("TimeEqual(%v, %v) = %v, want %v", tc.want, tc.got, got, tc.ok)
		}
	}
}

func TestCompare(t *testing.T) {
	e := NewEntry(UniqueKey("cmp"))
	if err := Compare(e, CloneEntry(e)); err != nil {
		t.Fatalf("Compare of a clone: %v", err)
	}
	changes := map[string]func(*stores.Entry){
		"status":       func(e *stores.Entry) { e.StatusCode++ },
		"value order":  func(e *stores.Entry) { v := e.Header["Set-Cookie"]; v[0], v[1] = v[1], v[0] },
		"extra header": func(e *stores.Entry) { e.Header.Set("X", "1") },
		"body":         func(e *stores.Entry) { e.Body[0]++ },
		"method":       func(e *stores.Entry) { e.Method = "POST" },
		"url":          func(e *stores.Entry) { e.URL += "x" },
		"request hdr":  func(e *stores.Entry) { e.RequestHeader.Del("Accept") },
		"time":         func(e *stores.Entry) { e.CreatedAt = e.CreatedAt.Add(time.Second) },
		"zeroed time":  func(e *stores.Entry) { e.ExpiresAt = time.Time{} },
		"key":          func(e *stores.Entry) { e.Key += "x" },
	}
	for name, change := range changes {
		c := CloneEntry(e)
		change(c)
		if Compare(e, c) == nil {
			t.Errorf("Compare missed a change of %s", name)
		}
	}
	// nil and empty are the same.
	c := CloneEntry(e)
	c.Body = nil
	e2 := CloneEntry(e)
	e2.Body = []byte{}
	e2.Header["X-Empty"] = []string{}
	c.Header["X-Empty"] = nil
	if err := Compare(e2, c); err != nil {
		t.Errorf("nil vs empty: %v", err)
	}
}
