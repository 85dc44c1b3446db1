package marks

import (
	"strconv"
	"testing"
	"time"
)

func TestMarks(t *testing.T) {
	var m Marks
	began := m.Now()
	if m.Since("a", began) {
		t.Fatal("a mark before any invalidation")
	}
	m.Mark("a", time.Now())
	if !m.Since("a", began) {
		t.Fatal("an invalidation after the trip began is not seen")
	}
	if m.Since("a", m.Now()) {
		t.Fatal("an invalidation before the trip began counts")
	}
	if m.Since("b", began) {
		t.Fatal("another resource's invalidation counts")
	}
}

// An import asks whether a resource was invalidated after a response
// arrived, by time: one that arrived by then is older.
func TestMarkedSince(t *testing.T) {
	var m Marks
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if m.MarkedSince("a", t0) {
		t.Fatal("marked before any invalidation")
	}
	m.Mark("a", t0.Add(time.Minute))
	for _, c := range []struct {
		uri  string
		at   time.Time
		want bool
	}{
		{"a", t0, true}, {"a", t0.Add(time.Minute), true}, {"a", t0.Add(time.Hour), false}, {"b", t0, false},
	} {
		if got := m.MarkedSince(c.uri, c.at); got != c.want {
			t.Errorf("MarkedSince(%s, %v) = %v, want %v", c.uri, c.at, got, c.want)
		}
	}
}

// Trips that overlap the invalidations of other resources keep their
// writes: with 50 invalidations during a trip, at most 1 in 100 writes is
// refused (about 6 in 10,000 expected; one bucket of 256 refused 18%).
func TestOtherResourcesInvalidationsRarelyCostAWrite(t *testing.T) {
	var m Marks
	began := m.Now()
	for i := 0; i < 50; i++ {
		m.Mark("http://api.example.com/config/"+strconv.Itoa(i), time.Now())
	}
	refused := 0
	for i := 0; i < 10000; i++ {
		if m.Since("http://api.example.com/test/"+strconv.Itoa(i), began) {
			refused++
		}
	}
	if refused > 100 {
		t.Fatalf("%d of 10,000 writes refused for other resources' invalidations", refused)
	}
	t.Logf("%d of 10,000 refused", refused)
}
