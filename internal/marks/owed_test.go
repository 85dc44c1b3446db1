package marks

import (
	"strconv"
	"testing"
)

func TestOwed(t *testing.T) {
	var o Owed
	if o.Has("a") {
		t.Fatal("an empty set owes a resource")
	}
	o.Add("a")
	if !o.Has("a") || o.Has("b") {
		t.Fatalf("after Add(a): Has(a) %v, Has(b) %v; want true, false", o.Has("a"), o.Has("b"))
	}
	o.Done("a")
	if o.Has("a") {
		t.Fatal("a resource carried out is still owed")
	}
}

// Past MaxOwed every resource is owed (an outage through that many unsafe
// requests), until the last owed one is carried out.
func TestOwedPastItsBound(t *testing.T) {
	var o Owed
	for i := range MaxOwed + 1 {
		o.Add(strconv.Itoa(i))
	}
	if !o.Has("never-added") {
		t.Fatal("past the bound, a resource never added is not owed")
	}
	for i := range MaxOwed {
		o.Done(strconv.Itoa(i))
	}
	if o.Has("never-added") {
		t.Fatal("with nothing owed any more, every resource is still refused")
	}
}
