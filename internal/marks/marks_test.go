package marks

import "testing"

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
	other := "b"
	for bucket(other) == bucket("a") {
		other += "b"
	}
	if m.Since(other, began) {
		t.Fatal("another resource's invalidation counts")
	}
}
