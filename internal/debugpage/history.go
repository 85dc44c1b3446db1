package debugpage

import "time"

// Sample is one interval of the chart: what the counters moved by.
type Sample struct {
	At       time.Time `json:"at"` // the interval's end
	Seconds  float64   `json:"seconds"`
	Requests int64     `json:"requests"`
	Cached   int64     `json:"cached"` // hits and stale answers
}

// PerSecond is the interval's request rate.
func (s Sample) PerSecond() float64 {
	if s.Seconds <= 0 {
		return 0
	}
	return float64(s.Requests) / s.Seconds
}

// HitRatio is the share of the interval's answers given from the cache;
// ok is false for an interval without requests.
func (s Sample) HitRatio() (r float64, ok bool) {
	if s.Requests == 0 {
		return 0, false
	}
	return float64(s.Cached) / float64(s.Requests), true
}

// Event is one request the session answered, for the page's list of
// recent requests and an entry's history.
type Event struct {
	At          time.Time     `json:"at"`
	Method      string        `json:"method"`
	URL         string        `json:"url"` // redacted
	Key         string        `json:"key,omitempty"`
	Status      int           `json:"status,omitempty"`
	Outcome     string        `json:"outcome"`
	CacheStatus string        `json:"cache_status,omitempty"`
	Duration    time.Duration `json:"duration_ns"`
}

// Record keeps e among the last requests.
func (st *State) Record(e Event) {
	st.mu.Lock()
	st.events.push(e)
	st.mu.Unlock()
}

// Sample closes the chart's current interval now (the sampler calls it
// every SampleEvery; tests call it to move the chart on).
func (st *State) Sample() {
	c, now := st.src.Counters(), st.src.Now()
	st.mu.Lock()
	defer st.mu.Unlock()
	st.samples.push(st.since(c, now))
	st.last, st.lastAt = c, now
}

// since is the interval from the last sample to now, with counters c.
func (st *State) since(c Counters, now time.Time) Sample {
	return Sample{
		At: now, Seconds: now.Sub(st.lastAt).Seconds(),
		Requests: c.requests() - st.last.requests(), Cached: c.cached() - st.last.cached(),
	}
}

// history returns the kept samples, oldest first, and the interval in
// progress.
func (st *State) history(c Counters, now time.Time) (samples []Sample, current Sample) {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.samples.all(), st.since(c, now)
}

// recent returns the kept events, newest first, that keep selects (all
// when nil), at most n.
func (st *State) recent(n int, keep func(*Event) bool) []Event {
	st.mu.Lock()
	defer st.mu.Unlock()
	all := st.events.all()
	out := make([]Event, 0, min(n, len(all)))
	for i := len(all) - 1; i >= 0 && len(out) < n; i-- {
		if keep == nil || keep(&all[i]) {
			out = append(out, all[i])
		}
	}
	return out
}

// ring keeps the last len(buf) values pushed.
type ring[T any] struct {
	buf  []T
	next int
	full bool
}

func newRing[T any](n int) ring[T] { return ring[T]{buf: make([]T, n)} }

func (r *ring[T]) push(v T) {
	r.buf[r.next] = v
	r.next++
	if r.next == len(r.buf) {
		r.next, r.full = 0, true
	}
}

// all returns a copy of the values, oldest first.
func (r *ring[T]) all() []T {
	if !r.full {
		return append([]T(nil), r.buf[:r.next]...)
	}
	return append(append(make([]T, 0, len(r.buf)), r.buf[r.next:]...), r.buf[:r.next]...)
}
