// Package streambody streams one upstream response body to several
// independent readers while keeping a copy, handed over when the body ends
// cleanly. reqcache's session uses it for misses: every caller reads the
// origin's bytes as they arrive, and the cache stores the copy.
package streambody

import (
	"context"
	"errors"
	"io"
	"sync"
)

// Each caller reads the buffer through its own Reader, at its own pace, and
// never waits for the end. While the body fits in the limit (max_body_bytes)
// the buffer holds all of it (it becomes the copy); past that the copy is
// dropped and the buffer keeps only what some reader has not read yet, at
// most the limit: reading from upstream then waits for the slowest reader.
//
// One caller at a time reads from upstream into the buffer (pulls):
//
//   - a reader whose context can never end (http.Get's) pulls itself, on its
//     own goroutine, when it needs bytes: the usual miss costs no goroutine
//     and no hand-off (a goroutine always pulling cost a miss 4 µs of
//     CPU: docs/performance.md, "Miss overhead");
//   - otherwise a goroutine, the pump, pulls until the end: for a reader
//     whose context can end (it then stops waiting at once whatever upstream
//     does), for several readers (none then depends on another reading),
//     and to complete a body nobody reads any more in the background.
//
// When the last reader leaves before the end, the body is handed to the
// background function (which may let the pump complete it) or its upstream
// is closed at once.

// Body is one upstream body read by several independent readers.
type Body struct {
	src   io.ReadCloser
	limit int64 // max_body_bytes

	mu      sync.Mutex
	buf     []byte // the body from offset base; only the puller changes it
	base    int64
	size    int64 // bytes read from src: base + len(buf)
	keep    bool  // buf holds the whole body, within limit: it is handed over at the end
	fits    bool  // its announced length is within limit
	ended   bool  // src is done: err says how (io.EOF: cleanly)
	err     error
	stored  bool // finish stored the body
	aborted bool
	pulling bool // someone reads src now (outside mu)
	pumping bool // the pump goroutine runs
	readers []*Reader
	// changed is closed (and replaced) when bytes arrive, the body ends,
	// or a reader moves on, for whoever waits on it; made when someone
	// first waits (a lone reader that reads itself never does).
	changed chan struct{}
	waiting bool

	// first is the reader of the caller that made the trip, and room the
	// first readers' list: both live in the Body's own allocation.
	first Reader
	room  [2]*Reader

	// owner stores the complete body and runs background completions.
	owner  Owner
	bgDone func()
	// release is called once the body has ended (OnStop).
	release func()
	stopped bool
}

// Owner is what a Body hands its results to. An interface rather than two
// funcs: the caller's value is passed as it is, where two method values
// cost a miss two allocations.
type Owner interface {
	// Finish receives the complete body when it ends cleanly within the
	// limit (called outside the Body's lock by whoever read its end), and
	// reports whether it stored it.
	Finish(body []byte) bool
	// Background, called when the last reader leaves before the end, may
	// let the body be read on without readers: it returns a function
	// called when the body has ended, or false to stop at once; abort
	// stops it early.
	Background(abort func()) (done func(), ok bool)
}

// Funcs is an Owner made of two functions (OnBackground may be nil: no
// background completion).
type Funcs struct {
	OnFinish     func(body []byte) bool
	OnBackground func(abort func()) (done func(), ok bool)
}

// Finish calls OnFinish.
func (f Funcs) Finish(body []byte) bool { return f.OnFinish(body) }

// Background calls OnBackground, when there is one.
func (f Funcs) Background(abort func()) (func(), bool) {
	if f.OnBackground == nil {
		return nil, false
	}
	return f.OnBackground(abort)
}

// New returns the Body reading src. contentLength (-1: unknown) sizes the
// buffer; limit is the most it keeps (max_body_bytes); owner stores the
// body and runs background completions. The first reader, for the caller
// that made the trip, is returned with the Body.
func New(src io.ReadCloser, contentLength, limit int64, owner Owner) (*Body, *Reader) {
	sb := &Body{src: src, limit: limit, keep: true, owner: owner}
	if contentLength > 0 && contentLength <= limit {
		// Sized by the announced length (+1: the read that finds EOF),
		// but never more than a first read's worth up front: an origin's
		// Content-Length is only a claim until the bytes come.
		sb.buf = make([]byte, 0, min(contentLength+1, maxFirstBuffer))
		sb.fits = true
	}
	sb.first.sb = sb
	sb.readers = append(sb.room[:0], &sb.first)
	return sb, &sb.first
}

// minRead is the first buffer of a body of unknown length, and the least a
// full buffer grows by.
const minRead = 32 << 10

// maxFirstBuffer bounds the buffer a body's announced length sizes before
// any byte arrives.
const maxFirstBuffer = 256 << 10

// ErrAbandoned ends a body nobody reads any more.
var ErrAbandoned = errors.New("reqcache: response body abandoned")

// mayPull reports whether bytes may be read from upstream now: nobody else
// does, and no reader is a whole window behind. mu is held.
func (sb *Body) mayPull() bool {
	return !sb.pulling && !sb.ended && (sb.keep || sb.size-sb.minOffset() < sb.limit)
}

// pull reads once from src into the buffer, and ends the body on an error
// or EOF (handing it over to finish when it is complete and kept). mu is
// held on entry and on return, released while reading; the caller checked
// mayPull.
func (sb *Body) pull() {
	sb.pulling = true
	if sb.aborted {
		sb.src.Close()
	}
	if !sb.keep {
		sb.trim()
	}
	if len(sb.buf) == cap(sb.buf) {
		sb.grow()
	}
	room := sb.buf[len(sb.buf):cap(sb.buf)]
	sb.mu.Unlock()

	n, err := sb.src.Read(room) // room is beyond what readers see

	sb.mu.Lock()
	sb.buf = sb.buf[:len(sb.buf)+n]
	sb.size += int64(n)
	if sb.keep && sb.size > sb.limit {
		sb.keep = false // too large to keep: the copy is dropped
	}
	if err == nil && sb.aborted {
		err = ErrAbandoned
	}
	if err == nil {
		sb.pulling = false
		sb.broadcast()
		return
	}
	keep := sb.keep && err == io.EOF && !sb.aborted
	sb.mu.Unlock()
	sb.src.Close()
	stored := keep && sb.owner.Finish(sb.buf)
	sb.mu.Lock()
	sb.stored = stored
	sb.pulling = false
	sb.end(err)
}

// end records how the body ended, wakes every reader, and runs what waits
// for the end (outside mu). mu is held on entry and on return.
func (sb *Body) end(err error) {
	sb.ended, sb.err = true, err
	sb.broadcast()
	done, release := sb.bgDone, sb.release
	sb.bgDone, sb.release = nil, nil
	sb.stopped = true
	if done == nil && release == nil {
		return
	}
	sb.mu.Unlock()
	if done != nil {
		done()
	}
	if release != nil {
		release()
	}
	sb.mu.Lock()
}

// startPump has a goroutine pull until the end, unless one does. mu is held.
func (sb *Body) startPump() {
	if sb.pumping || sb.ended {
		return
	}
	sb.pumping = true
	go sb.pump()
}

func (sb *Body) pump() {
	sb.mu.Lock()
	defer sb.mu.Unlock()
	for !sb.ended {
		if sb.mayPull() {
			sb.pull()
			continue
		}
		if sb.aborted && !sb.pulling {
			sb.end(ErrAbandoned)
			return
		}
		sb.wait() // someone else pulls, or the slowest reader is a window behind
	}
}

// OnStop has release called when the body has ended (at once if it has),
// after the others registered before it.
func (sb *Body) OnStop(release func()) {
	sb.mu.Lock()
	if !sb.stopped {
		if prev := sb.release; prev != nil {
			// A second callback (a fleet lease) chains: the common single
			// one costs no slice.
			sb.release = func() { prev(); release() }
		} else {
			sb.release = release
		}
		sb.mu.Unlock()
		return
	}
	sb.mu.Unlock()
	release()
}

// grow makes room for the next read. mu is held; only the puller calls it.
func (sb *Body) grow() {
	n := max(2*cap(sb.buf), len(sb.buf)+minRead)
	if sb.keep {
		n = int(min(int64(n), sb.limit+1))
		n = max(n, len(sb.buf)+1)
	}
	nb := make([]byte, len(sb.buf), n)
	copy(nb, sb.buf)
	sb.buf = nb
}

// trim drops what every reader has read, once the body is no longer kept:
// when the buffer is full, or half of it is read. (The buffer then never
// grows past limit+1: what is unread is less than limit.) mu is held; only
// the puller calls it.
func (sb *Body) trim() {
	drop := sb.minOffset() - sb.base
	if drop <= 0 || drop < int64(len(sb.buf))/2 && len(sb.buf) < cap(sb.buf) {
		return
	}
	rest := copy(sb.buf, sb.buf[drop:])
	sb.buf = sb.buf[:rest]
	sb.base += drop
}

// minOffset is where the slowest open reader is (size when none is).
func (sb *Body) minOffset() int64 {
	m := sb.size
	for _, r := range sb.readers {
		m = min(m, r.off)
	}
	return m
}

// wait releases mu until something changes. mu is held.
func (sb *Body) wait() {
	ch := sb.waitChan()
	sb.mu.Unlock()
	<-ch
	sb.mu.Lock()
}

// waitChan is the channel the next broadcast closes. mu is held.
func (sb *Body) waitChan() chan struct{} {
	if sb.changed == nil {
		sb.changed = make(chan struct{})
	}
	sb.waiting = true
	return sb.changed
}

// broadcast wakes whoever waits. mu is held.
func (sb *Body) broadcast() {
	if sb.waiting {
		close(sb.changed)
		sb.changed = nil
		sb.waiting = false
	}
}

// Attach adds a reader from the first byte, for a caller that waited for
// the same trip; ok is false when the start of the body is no longer held
// (it was too large to keep), nobody reads it any more, or it failed.
//
// A late caller (one that asked after the response arrived) may hold
// another reader of this body on its own goroutine: past max_body_bytes
// reading waits for the slowest reader, so a goroutine reading one body to
// its end before the other would wait forever. It joins only a body known
// to fit (announced within max_body_bytes, or complete), or one nobody
// reads any more (completed in the background): nobody then holds another
// reader of it. Without that last case, a caller that read a chunked body
// to its last byte and closed it before the end's marker arrived would
// send the next caller for the same URL to the origin.
func (sb *Body) Attach(late bool) (*Reader, bool) {
	sb.mu.Lock()
	defer sb.mu.Unlock()
	if sb.base > 0 || sb.aborted || (!sb.keep && !sb.ended) || sb.ended && sb.err != io.EOF {
		return nil, false
	}
	if late && !sb.ended && !sb.fits && len(sb.readers) > 0 {
		return nil, false
	}
	r := &Reader{sb: sb}
	sb.readers = append(sb.readers, r)
	// Several readers: the pump reads for them all, so that none depends on
	// another reading (one that never reads nor closes its body included).
	sb.startPump()
	return r, true
}

// Stored reports whether the body was stored (false until it ends).
func (sb *Body) Stored() bool {
	sb.mu.Lock()
	defer sb.mu.Unlock()
	return sb.stored
}

// leave removes r; the last reader to leave before the end hands the body
// to a background completion, or stops it.
func (sb *Body) leave(r *Reader) {
	sb.mu.Lock()
	defer sb.mu.Unlock()
	for i, o := range sb.readers {
		if o == r {
			sb.readers = append(sb.readers[:i], sb.readers[i+1:]...)
			break
		}
	}
	sb.broadcast() // a puller may be waiting for r
	if len(sb.readers) > 0 || sb.ended || sb.aborted || sb.bgDone != nil {
		return
	}
	if sb.keep {
		if done, ok := sb.owner.Background(sb.abort); ok {
			sb.bgDone = done
			sb.startPump()
			return
		}
	}
	sb.stopLocked()
}

// abort stops a background completion (Close, or its time is up).
func (sb *Body) abort() {
	sb.mu.Lock()
	defer sb.mu.Unlock()
	if !sb.ended && !sb.aborted {
		sb.stopLocked()
	}
}

// stopLocked closes the upstream of a body nobody may read on; whoever
// pulls sees the end, else it ends here. mu is held.
func (sb *Body) stopLocked() {
	sb.aborted = true
	sb.broadcast()
	if sb.pulling {
		sb.src.Close() // unblocks the read
		return
	}
	sb.src.Close()
	if !sb.pumping {
		sb.end(ErrAbandoned)
	}
}

// Reader is one caller's view of a Body: the response body it reads.
type Reader struct {
	sb     *Body
	ctx    context.Context // the caller's (SetContext): its end stops a wait
	off    int64
	closed bool // guarded by sb.mu
}

// SetContext makes ctx's end stop r's waits, before r is handed to its
// caller.
func (r *Reader) SetContext(ctx context.Context) { r.ctx = ctx }

// Read returns the bytes read from upstream past r's offset, reading more
// (or waiting for them) when there are none, until the body ends (with the
// upstream's error when it failed) or r's context ends.
func (r *Reader) Read(p []byte) (int, error) {
	sb := r.sb
	sb.mu.Lock()
	for {
		if r.closed {
			sb.mu.Unlock()
			return 0, errReadAfterClose
		}
		if r.off < sb.size {
			n := copy(p, sb.buf[r.off-sb.base:])
			r.off += int64(n)
			if !sb.keep {
				sb.broadcast() // a puller may wait for this reader
			}
			sb.mu.Unlock()
			return n, nil
		}
		if sb.ended {
			err := sb.err
			sb.mu.Unlock()
			return 0, err
		}
		var done <-chan struct{}
		if r.ctx != nil {
			done = r.ctx.Done()
		}
		if sb.mayPull() {
			if done == nil && !sb.pumping {
				// This reader would wait for ever anyway: it reads itself.
				sb.pull()
				continue
			}
			sb.startPump()
		}
		ch := sb.waitChan()
		sb.mu.Unlock()
		select {
		case <-ch:
		case <-done:
			return 0, context.Cause(r.ctx)
		}
		sb.mu.Lock()
	}
}

// errReadAfterClose is net/http's answer to a read on a closed body.
var errReadAfterClose = errors.New("http: read on closed response body")

// Close leaves the body; the first Close counts.
func (r *Reader) Close() error {
	r.sb.mu.Lock()
	if r.closed {
		r.sb.mu.Unlock()
		return nil
	}
	r.closed = true
	r.sb.mu.Unlock()
	r.sb.leave(r)
	return nil
}
