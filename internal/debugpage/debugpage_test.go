package debugpage

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/reqcache/reqcache/stores"
)

func TestRingKeepsTheLast(t *testing.T) {
	r := newRing[int](3)
	if got := r.all(); len(got) != 0 {
		t.Fatalf("empty ring: %v", got)
	}
	for i := 1; i <= 5; i++ {
		r.push(i)
	}
	if got := r.all(); len(got) != 3 || got[0] != 3 || got[2] != 5 {
		t.Fatalf("after 1..5: %v, want [3 4 5]", got)
	}
}

func TestChartScalesToThePeak(t *testing.T) {
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := chartOf([]Sample{
		{At: at, Seconds: 5, Requests: 50, Cached: 25}, // 10/s, 50%
		{At: at, Seconds: 5, Requests: 0},              // no requests: no ratio point
		{At: at, Seconds: 5, Requests: 25, Cached: 25}, // 5/s, 100%
	})
	if len(c.Bars) != 3 || c.PeakRate != 10 {
		t.Fatalf("%d bars, peak %v", len(c.Bars), c.PeakRate)
	}
	if c.Bars[0].H != float64(c.Height-4) || c.Bars[2].H != float64(c.Height-4)/2 || c.Bars[1].H != 0 {
		t.Errorf("bar heights %v %v %v", c.Bars[0].H, c.Bars[1].H, c.Bars[2].H)
	}
	if pts := strings.Fields(c.Line); len(pts) != 2 || !strings.HasSuffix(pts[1], ",2.0") {
		t.Errorf("ratio line %q: want two points, the second at the top", c.Line)
	}
	if c.Bars[2].X+c.Bars[2].W > float64(c.Width) || c.Bars[2].X+c.Bars[2].W < float64(c.Width)-2 {
		t.Errorf("the newest bar ends at %v, want the right edge %d", c.Bars[2].X+c.Bars[2].W, c.Width)
	}
}

func TestExplainSaysWhereTheLifetimeCameFrom(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	entry := func(h http.Header, lifetime time.Duration, from stores.Lifetime) *stores.Entry {
		e := &stores.Entry{Header: h, CreatedAt: now.Add(-10 * time.Second), Lifetime: from}
		if lifetime != 0 {
			e.ExpiresAt = e.CreatedAt.Add(lifetime)
		}
		return e
	}
	for _, c := range []struct {
		name string
		e    *stores.Entry
		want []string
	}{
		{"max-age", entry(http.Header{"Cache-Control": {"max-age=60, must-revalidate"}, "Etag": {`"x"`}}, time.Minute, stores.LifetimeMaxAge),
			[]string{"Fresh until", "50s left", "max-age=60", "If-None-Match", "must-revalidate"}},
		{"expires", entry(http.Header{"Expires": {"Thu, 01 Jan 2026 12:00:05 GMT"}, "Date": {"Thu, 01 Jan 2026 11:59:50 GMT"}}, 15*time.Second, stores.LifetimeExpires),
			[]string{"Fresh until", "lifetime of 15s: the response's Expires", "no validator"}},
		{"heuristic", entry(http.Header{"Last-Modified": {"Thu, 01 Jan 2026 10:00:00 GMT"}}, 5*time.Second, stores.LifetimeHeuristic),
			[]string{"Stale since", "heuristic", "If-Modified-Since"}},
		{"settings", entry(http.Header{}, time.Hour, stores.LifetimeExpireAfter), []string{"the expire_after setting"}},
		// The headers say max-age, the decision said expire_after
		// (cache_control = false): the decision is what is shown.
		{"the decision, not the headers", entry(http.Header{"Cache-Control": {"max-age=60"}}, time.Hour, stores.LifetimeExpireAfter), []string{"1h0m0s: the expire_after setting"}},
		{"never", entry(http.Header{"Vary": {"Accept"}}, 0, stores.LifetimeExpireAfter), []string{"never expires", "Vary: Accept"}},
		{"no-cache", entry(http.Header{"Cache-Control": {"no-cache, stale-if-error=300"}}, time.Nanosecond, stores.LifetimeNoCache),
			[]string{"stale as it arrived", "revalidated with the origin first", "stale-if-error=300"}},
		{"written before it was recorded", entry(http.Header{}, time.Hour, stores.LifetimeUnrecorded), []string{"did not record where it came from"}},
	} {
		got := strings.Join(explain(c.e, now), " ")
		for _, w := range c.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: %q lacks %q", c.name, got, w)
			}
		}
	}
}

// For its first minutes the chart spreads what it has over its width
// (issue 41, finding 5): three samples were a 15-pixel strip at the right.
func TestChartSpreadsTheFirstMinutes(t *testing.T) {
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	samples := func(n int) []Sample {
		var out []Sample
		for i := range n {
			out = append(out, Sample{At: at.Add(time.Duration(i) * SampleEvery), Seconds: 5, Requests: 5, Cached: 5})
		}
		return out
	}
	c := chartOf(samples(minSlots))
	if first := c.Bars[0]; first.X > 1 || c.Full {
		t.Fatalf("a minute of samples starts at x=%v (full %v), want the left edge", first.X, c.Full)
	}
	c = chartOf(samples(3))
	if w := c.Bars[0].W; w < float64(c.Width)/float64(minSlots)-2 {
		t.Fatalf("three samples: bars %v wide, want a minute's slot", w)
	}
	if c = chartOf(samples(samplesKept)); !c.Full || c.Bars[0].X > 1 {
		t.Fatalf("ten minutes: full %v, first bar at %v", c.Full, c.Bars[0].X)
	}
}
