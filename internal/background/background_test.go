package background

import (
	"testing"
	"time"
)

func TestSlotsBoundTheWork(t *testing.T) {
	w := New(2)
	done1, ok1 := w.Start()
	_, ok2 := w.Start()
	if !ok1 || !ok2 {
		t.Fatal("two slots did not take two pieces of work")
	}
	if _, ok := w.Start(); ok {
		t.Fatal("a third piece started with both slots busy")
	}
	done1()
	if _, ok := w.Start(); !ok {
		t.Fatal("a freed slot took no work")
	}
}

func TestStopEndsTheWorkAndWaitWaitsForIt(t *testing.T) {
	w := New(1)
	done, ok := w.Start()
	if !ok {
		t.Fatal("no slot")
	}
	ended := make(chan struct{})
	go func() {
		<-w.Context().Done() // the piece sees Stop through its context
		time.Sleep(10 * time.Millisecond)
		close(ended)
		done()
	}()
	w.Stop()
	w.Wait()
	select {
	case <-ended:
	default:
		t.Fatal("Wait returned before the running piece was done")
	}
	if _, ok := w.Start(); ok {
		t.Fatal("work started after Stop")
	}
}

func TestAtLeastOneSlot(t *testing.T) {
	if _, ok := New(0).Start(); !ok {
		t.Fatal("New(0) has no slot")
	}
}
