package marks

import (
	"strconv"
	"testing"
)

func TestMarks(t *testing.T) {
	var m Marks
	began := m.Now()
	if m.Since("a", began) {
		t.Fatal("a mark before any invalidation")
	}
	m.Mark("a")
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

// Trips that overlap the invalidations of other resources keep their
// writes: with 50 invalidations during a trip, at most 1 in 100 writes is
// refused (about 6 in 10,000 expected; one bucket of 256 refused 18%).
func TestOtherResourcesInvalidationsRarelyCostAWrite(t *testing.T) {
	var m Marks
	began := m.Now()
	for i := 0; i < 50; i++ {
		m.Mark("http://api.example.com/config/" + strconv.Itoa(i))
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
