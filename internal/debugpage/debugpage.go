// Package debugpage is the page that shows a running program's cache
// (session.Cache.Handler, reqcache.Handler), like net/http/pprof: an
// overview with a chart of the last minutes, a paged table of the stored
// responses, one response with its headers and why it is or is not fresh,
// and the same views as JSON. It knows the cache only through Source, so
// that it needs nothing of the session's request path.
//
// Costs, by design: nothing until a handler exists; then one sample of
// the counters every SampleEvery (a goroutine, stopped by Close) and one
// record per request in a ring of the last requests. A listing examines
// at most Budget entries per request and resumes where it stopped (a
// cursor held on the server), so neither its time nor its allocations
// grow with the size of the store.
package debugpage

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"sync"
	"time"

	"github.com/reqcache/reqcache/stores"
)

// Source is the cache a page shows, as the session exposes it.
type Source struct {
	// Backend names the store ("memory", "mongo", "tiered"); MaxBytes is
	// its configured bound (max_size_mb), 0 when it has none.
	Backend  string
	MaxBytes int64
	// Store is read for Len, Scan and Get.
	Store    stores.Reader
	Counters func() Counters
	// Bytes is what the store holds, when it can say without a scan.
	Bytes         func(ctx context.Context) (n int64, ok bool, err error)
	Delete        func(ctx context.Context, key string) (int, error)
	DeleteExpired func(ctx context.Context) (int, error)
	Clear         func(ctx context.Context) error
	Now           func() time.Time
	// RedactHeader and RedactURL hide credentials as the logs do, under
	// the settings in force now (stored data was redacted under the
	// settings of its time).
	RedactHeader func(http.Header) http.Header
	RedactURL    func(string) string
}

// Counters are the session's counters (session.Stats, field for field).
type Counters struct {
	Hits        int64 `json:"hits"`
	Misses      int64 `json:"misses"`
	Stale       int64 `json:"stale"`
	Revalidated int64 `json:"revalidated"`
	Coalesced   int64 `json:"coalesced"`
	FleetWaits  int64 `json:"fleet_waits"`
	StoreErrors int64 `json:"store_errors"`
	Corrupt     int64 `json:"corrupt"`
	Invalidated int64 `json:"invalidated"`
	BytesServed int64 `json:"bytes_served"`
	// InvalidationsUnread: the memory tier cannot read other processes'
	// invalidations now.
	InvalidationsUnread int64 `json:"invalidations_unread"`
	// SealedElsewhere: entries sealed with a key this process lacks.
	SealedElsewhere int64 `json:"sealed_elsewhere"`
}

// requests are the answers the counters count: from the cache (hits,
// stale), after a 304 (revalidated) or from the origin (misses).
func (c Counters) requests() int64 { return c.Hits + c.Stale + c.Revalidated + c.Misses }

// cached are the answers whose body came from the cache without an origin
// exchange.
func (c Counters) cached() int64 { return c.Hits + c.Stale }

// Options configure a handler.
type Options struct {
	// AllowChanges lets the page delete entries, delete the expired ones
	// and clear the store (POST with the page's CSRF token).
	AllowChanges bool
}

// Tuning, fixed: a page's rows, the entries a listing examines per
// request, the chart's sampling.
const (
	PageSize    = 50
	Budget      = 5000
	SampleEvery = 5 * time.Second
	samplesKept = 120 // ten minutes
	eventsKept  = 256
	cursorsKept = 16
	cursorIdle  = 5 * time.Minute
)

// State is what a page keeps between requests for one cache: the chart's
// samples, the last requests, the listings in progress and the CSRF
// token. One State serves every handler of a session.
type State struct {
	src   Source
	token string

	mu      sync.Mutex
	samples ring[Sample]
	last    Counters // at the last sample
	lastAt  time.Time
	events  ring[Event]
	cursors map[string]*cursor
	// flashes are the confirmations of changes the page made, by the
	// random id its redirect names (?done=ID): shown once, never text
	// taken from a link.
	flashes map[string]string

	stop chan struct{}
	done chan struct{}
	once sync.Once
}

// NewState starts keeping the page's state for src: a goroutine samples
// the counters every every (SampleEvery when 0) until Close.
func NewState(src Source, every time.Duration) *State {
	if every <= 0 {
		every = SampleEvery
	}
	var b [16]byte
	_, _ = rand.Read(b[:])
	st := &State{
		src:     src,
		token:   hex.EncodeToString(b[:]),
		samples: newRing[Sample](samplesKept),
		events:  newRing[Event](eventsKept),
		cursors: map[string]*cursor{},
		flashes: map[string]string{},
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
		last:    src.Counters(),
		lastAt:  src.Now(),
	}
	go st.sampleEvery(every)
	return st
}

// Close stops the sampler and every listing in progress. It is idempotent.
func (st *State) Close() {
	st.once.Do(func() {
		close(st.stop)
		<-st.done
		st.mu.Lock()
		for id, c := range st.cursors {
			c.close()
			delete(st.cursors, id)
		}
		st.mu.Unlock()
	})
}

func (st *State) sampleEvery(every time.Duration) {
	defer close(st.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-st.stop:
			return
		case <-t.C:
			st.Sample()
		}
	}
}

// flashesKept bounds the confirmations waiting to be shown.
const flashesKept = 16

// flash keeps a confirmation of a change the page made and returns the id
// its redirect names.
func (st *State) flash(message string) string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	st.mu.Lock()
	defer st.mu.Unlock()
	if len(st.flashes) >= flashesKept {
		clear(st.flashes) // confirmations nobody came back for
	}
	st.flashes[id] = message
	return id
}

// takeFlash returns the confirmation kept under id, once ("" for an id the
// page did not make).
func (st *State) takeFlash(id string) string {
	if id == "" {
		return ""
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	m := st.flashes[id]
	delete(st.flashes, id)
	return m
}
