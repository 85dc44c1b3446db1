package streambody

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"
)

// source is an upstream body the test feeds by hand.
type source struct {
	*io.PipeReader
	w      *io.PipeWriter
	closed chan struct{}
	once   sync.Once
}

func newSource() *source {
	r, w := io.Pipe()
	return &source{PipeReader: r, w: w, closed: make(chan struct{})}
}

func (s *source) Close() error {
	s.once.Do(func() { close(s.closed) })
	return s.PipeReader.Close()
}

// finisher records what finish was given.
type finisher struct {
	mu    sync.Mutex
	body  []byte
	calls int
}

func (f *finisher) finish(b []byte) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.body, f.calls = append([]byte(nil), b...), f.calls+1
	return true
}

func (f *finisher) get() ([]byte, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.body, f.calls
}

func noBackground(func()) (func(), bool) { return nil, false }

func TestReadersGetEveryByteAndTheCopyIsHandedOver(t *testing.T) {
	src, f := newSource(), &finisher{}
	body, first := New(src, -1, 1<<20, Funcs{f.finish, noBackground})
	second, ok := body.Attach(false)
	if !ok {
		t.Fatal("a waiter could not attach to a kept body")
	}
	go func() {
		src.w.Write([]byte("hello, "))
		src.w.Write([]byte("world"))
		src.w.Close()
	}()
	for i, r := range []*Reader{first, second} {
		b, err := io.ReadAll(r)
		if err != nil || string(b) != "hello, world" {
			t.Fatalf("reader %d: %q, %v", i, b, err)
		}
		r.Close()
	}
	if got, n := f.get(); string(got) != "hello, world" || n != 1 || !body.Stored() {
		t.Fatalf("finish got %q (%d calls), Stored %v", got, n, body.Stored())
	}
}

func TestPastTheLimitNothingIsKeptAndReadersGoOn(t *testing.T) {
	src, f := newSource(), &finisher{}
	body, first := New(src, -1, 8, Funcs{f.finish, noBackground})
	go func() {
		for i := 0; i < 10; i++ {
			src.w.Write([]byte("0123456789"))
		}
		src.w.Close()
	}()
	b, err := io.ReadAll(first)
	if err != nil || len(b) != 100 {
		t.Fatalf("read %d bytes, %v", len(b), err)
	}
	if _, n := f.get(); n != 0 || body.Stored() {
		t.Fatal("a body past the limit was handed over")
	}
	if _, ok := body.Attach(true); ok {
		t.Fatal("attached to a body whose start is gone")
	}
}

func TestAFailureReachesEveryReaderAfterItsBytes(t *testing.T) {
	src, f := newSource(), &finisher{}
	body, first := New(src, -1, 1<<20, Funcs{f.finish, noBackground})
	second, _ := body.Attach(false)
	cut := errors.New("connection reset")
	go func() {
		src.w.Write([]byte("part"))
		src.w.CloseWithError(cut)
	}()
	for i, r := range []*Reader{first, second} {
		b, err := io.ReadAll(r)
		if string(b) != "part" || !errors.Is(err, cut) {
			t.Fatalf("reader %d: %q, %v", i, b, err)
		}
	}
	if _, n := f.get(); n != 0 {
		t.Fatal("a failed body was handed over")
	}
}

func TestLastReaderLeavingStopsOrCompletesInBackground(t *testing.T) {
	t.Run("no background: the source is closed", func(t *testing.T) {
		src, f := newSource(), &finisher{}
		_, first := New(src, -1, 1<<20, Funcs{f.finish, noBackground})
		go src.w.Write([]byte("a"))
		buf := make([]byte, 1)
		io.ReadFull(first, buf)
		first.Close()
		select {
		case <-src.closed:
		case <-time.After(5 * time.Second):
			t.Fatal("the source was not closed when nobody read it")
		}
	})
	t.Run("background: read to the end and handed over", func(t *testing.T) {
		src, f := newSource(), &finisher{}
		done := make(chan struct{})
		bg := func(abort func()) (func(), bool) { return func() { close(done) }, true }
		_, first := New(src, -1, 1<<20, Funcs{f.finish, bg})
		first.Close()
		go func() {
			io.Copy(src.w, strings.NewReader("rest of it"))
			src.w.Close()
		}()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("the background completion never ended")
		}
		if got, _ := f.get(); string(got) != "rest of it" {
			t.Fatalf("handed over %q", got)
		}
	})
}

func TestLateAttachOnlyToBodiesKnownToFitOrUnread(t *testing.T) {
	src, f := newSource(), &finisher{}
	body, first := New(src, -1, 1<<20, Funcs{f.finish, noBackground})
	defer first.Close()
	if _, ok := body.Attach(true); ok {
		t.Fatal("a late caller attached to a body of unknown length still streaming")
	}
	src2 := newSource()
	body2, first2 := New(src2, 5, 1<<20, Funcs{f.finish, noBackground})
	defer first2.Close()
	r, ok := body2.Attach(true)
	if !ok {
		t.Fatal("a late caller could not attach to a body announced within the limit")
	}
	go func() { src2.w.Write([]byte("12345")); src2.w.Close() }()
	if b, err := io.ReadAll(r); err != nil || !bytes.Equal(b, []byte("12345")) {
		t.Fatalf("%q %v", b, err)
	}

	// Nobody reads it any more: it is completed in the background, and
	// nobody can hold another reader of it.
	src3 := newSource()
	bg := func(abort func()) (func(), bool) { return func() {}, true }
	body3, first3 := New(src3, -1, 1<<20, Funcs{f.finish, bg})
	first3.Close()
	r3, ok := body3.Attach(true)
	if !ok {
		t.Fatal("a late caller could not attach to a body completed in the background")
	}
	defer r3.Close()
	if _, ok := body3.Attach(true); ok {
		t.Fatal("a second late caller attached while the first still reads a body of unknown length")
	}
	go func() { src3.w.Write([]byte("abc")); src3.w.Close() }()
	if b, err := io.ReadAll(r3); err != nil || string(b) != "abc" {
		t.Fatalf("%q %v", b, err)
	}
}

func TestReadAfterCloseFails(t *testing.T) {
	src, f := newSource(), &finisher{}
	_, first := New(src, -1, 1<<20, Funcs{f.finish, noBackground})
	first.Close()
	if _, err := first.Read(make([]byte, 1)); err == nil {
		t.Fatal("read on a closed body succeeded")
	}
}

// Every OnStop callback runs once the body has ended, in the order they
// were registered, and after the copy was handed over (a fleet lease is
// released once the entry is stored).
func TestOnStopCallbacksRunInOrderAfterTheStore(t *testing.T) {
	src, f := newSource(), &finisher{}
	body, first := New(src, -1, 1<<20, Funcs{f.finish, noBackground})
	var order []string
	body.OnStop(func() { order = append(order, "flight") })
	body.OnStop(func() {
		_, calls := f.get()
		order = append(order, "lease stored="+map[bool]string{true: "yes", false: "no"}[body.Stored() && calls == 1])
	})
	go func() {
		src.w.Write([]byte("x"))
		src.w.Close()
	}()
	io.ReadAll(first)
	first.Close()
	if strings.Join(order, ",") != "flight,lease stored=yes" {
		t.Fatalf("callbacks ran as %q", order)
	}
	late := false
	body.OnStop(func() { late = true })
	if !late {
		t.Fatal("a callback registered after the end did not run at once")
	}
}

// An announced length is a claim: the buffer it sizes before any byte
// arrives is bounded (issue 27, finding 8: Content-Length: 2^62 made the
// cache allocate it, or panic).
func TestAnnouncedLengthSizesABoundedBuffer(t *testing.T) {
	for _, announced := range []int64{1 << 62, 1 << 40, 10 << 20} {
		sb, r := New(io.NopCloser(strings.NewReader("short")), announced, 1<<62, Funcs{OnFinish: func([]byte) bool { return true }})
		if c := cap(sb.buf); c > maxFirstBuffer {
			t.Fatalf("Content-Length %d: a first buffer of %d bytes", announced, c)
		}
		b, err := io.ReadAll(r)
		if string(b) != "short" || err != nil {
			t.Fatalf("read %q, %v", b, err)
		}
	}
}
