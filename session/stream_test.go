package session_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/reqcache/reqcache/config"
	"github.com/reqcache/reqcache/session"
)

// drip is an origin that sends head at once, then waits until the test
// lets it go on (or 10 s pass: the test then fails on its own), then sends
// tail. With cut it breaks the connection instead of sending tail.
type drip struct {
	*origin
	head, tail  string
	contentType string
	cut         bool
	length      bool          // send Content-Length
	holdHeaders chan struct{} // when set, the origin waits for it before its header
	mu          sync.Mutex
	goOn        chan struct{}
	free        bool // requests from now on send everything at once
}

func newDrip(t *testing.T, contentType, head, tail string) *drip {
	d := &drip{head: head, tail: tail, contentType: contentType, goOn: make(chan struct{})}
	d.origin = newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		d.mu.Lock()
		goOn, cut := d.goOn, d.cut
		if d.free {
			goOn = nil
		}
		d.mu.Unlock()
		if d.holdHeaders != nil {
			<-d.holdHeaders
		}
		w.Header().Set("Content-Type", d.contentType)
		w.Header().Set("Cache-Control", "max-age=3600")
		switch {
		case cut:
			w.Header().Set("Content-Length", "1000")
		case d.length:
			w.Header().Set("Content-Length", fmt.Sprint(len(d.head)+len(d.tail)))
		}
		io.WriteString(w, d.head)
		w.(http.Flusher).Flush()
		if goOn == nil {
			io.WriteString(w, d.tail)
			return
		}
		select {
		case <-goOn:
		case <-time.After(10 * time.Second):
			return
		case <-r.Context().Done():
			return
		}
		if cut {
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		}
		io.WriteString(w, d.tail)
	})
	return d
}

// release lets the requests waiting at the origin send the rest; later
// ones wait again.
func (d *drip) release() {
	d.mu.Lock()
	defer d.mu.Unlock()
	close(d.goOn)
	d.goOn = make(chan struct{})
}

// releaseAll makes every later request send everything at once.
func (d *drip) releaseAll() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.free = true
}

// readHead reads exactly len(head) bytes: they must arrive while the origin
// still holds the rest back.
func readHead(t *testing.T, body io.Reader, head string) {
	t.Helper()
	got := make([]byte, len(head))
	if _, err := io.ReadFull(body, got); err != nil || string(got) != head {
		t.Fatalf("first bytes %q, %v; want %q before the origin sends the rest", got, err, head)
	}
}

func TestMissStreamsFirstBytesAtOnce(t *testing.T) {
	for _, tc := range []struct {
		contentType string
		wantStored  bool
	}{
		{"application/json", true},
		{"text/event-stream", false}, // never stored: a replayed event stream is not what a caller wants
	} {
		t.Run(tc.contentType, func(t *testing.T) {
			d := newDrip(t, tc.contentType, `{"items":[1,`, `2,3]}`)
			s := newSession(t, nil)
			resp, err := s.Client().Get(d.URL)
			if err != nil {
				t.Fatal(err)
			}
			readHead(t, resp.Body, d.head) // fails after 10 s if the cache waited for the end
			d.release()
			rest, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || string(rest) != d.tail {
				t.Fatalf("rest %q, %v", rest, err)
			}
			if got := session.InfoOf(resp).Stored; got != tc.wantStored {
				t.Fatalf("Stored %v after the body ended, want %v", got, tc.wantStored)
			}
			d.releaseAll()
			body, again := get(t, s.Client(), d.URL)
			if body != d.head+d.tail || session.InfoOf(again).FromCache != tc.wantStored {
				t.Fatalf("second request: %q from cache %v", body, session.InfoOf(again).FromCache)
			}
		})
	}
}

func TestCoalescedCallersStreamIndependently(t *testing.T) {
	t.Run("waiters before the header", func(t *testing.T) {
		d := newDrip(t, "application/json", `{"part":1,`, `"more":2}`)
		d.holdHeaders = make(chan struct{})
		s := newSession(t, nil)
		c := s.Client()
		resps := make(chan *http.Response, 3)
		for i := 0; i < 3; i++ {
			go func() {
				resp, err := c.Get(d.URL)
				if err != nil {
					t.Error(err)
				}
				resps <- resp
			}()
		}
		deadline := time.Now().Add(5 * time.Second)
		for s.Stats().Coalesced < 2 && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		close(d.holdHeaders)
		var bodies []*http.Response
		for i := 0; i < 3; i++ {
			resp := <-resps
			if resp == nil {
				t.FailNow()
			}
			readHead(t, resp.Body, d.head) // every caller, before the origin finishes
			bodies = append(bodies, resp)
		}
		readRestAndHit(t, d, c, bodies)
	})
	t.Run("late callers, announced length", func(t *testing.T) {
		d := newDrip(t, "application/json", `{"part":1,`, `"more":2}`)
		d.length = true
		s := newSession(t, nil)
		c := s.Client()
		var bodies []*http.Response
		for i := 0; i < 3; i++ {
			resp, err := c.Get(d.URL)
			if err != nil {
				t.Fatal(err)
			}
			bodies = append(bodies, resp)
			readHead(t, resp.Body, d.head) // every caller, before the origin finishes
			if got := session.InfoOf(resp).Coalesced; got != (i > 0) {
				t.Fatalf("caller %d: Coalesced %v", i, got)
			}
		}
		readRestAndHit(t, d, c, bodies)
	})
}

// readRestAndHit lets the origin finish, checks that each caller reads the
// rest, and that the next request is a hit: the origin was asked once.
func readRestAndHit(t *testing.T, d *drip, c *http.Client, resps []*http.Response) {
	t.Helper()
	wantCount(t, d.origin, 1)
	d.release()
	for i, resp := range resps {
		rest, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || string(rest) != d.tail {
			t.Fatalf("caller %d read %q, %v", i, rest, err)
		}
	}
	if body, resp := get(t, c, d.URL); body != d.head+d.tail || !session.InfoOf(resp).FromCache {
		t.Fatalf("after the stream: %q, from cache %v", body, session.InfoOf(resp).FromCache)
	}
	wantCount(t, d.origin, 1)
}

// A goroutine holding two responses for one URL and reading one to its end
// before the other must not wait forever, whatever the body's size.
func TestOneGoroutineReadingTwoResponsesInTurn(t *testing.T) {
	big := strings.Repeat("y", 256<<10)
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i < len(big); i += 16 << 10 {
			io.WriteString(w, big[i:i+16<<10])
			w.(http.Flusher).Flush()
		}
	})
	for _, limit := range []int64{1 << 20, 32 << 10} {
		t.Run(fmt.Sprint(limit), func(t *testing.T) {
			c := newSession(t, func(c *config.Config) { c.MaxBodyBytes = limit }).Client()
			first, err := c.Get(o.URL)
			if err != nil {
				t.Fatal(err)
			}
			second, err := c.Get(o.URL)
			if err != nil {
				t.Fatal(err)
			}
			for _, resp := range []*http.Response{second, first} {
				done := make(chan struct{})
				timer := time.AfterFunc(10*time.Second, func() {
					select {
					case <-done:
					default:
						resp.Body.Close()
					}
				})
				b, err := io.ReadAll(resp.Body)
				close(done)
				timer.Stop()
				resp.Body.Close()
				if err != nil || len(b) != len(big) {
					t.Fatalf("read %d bytes, %v: a reader waited for the other", len(b), err)
				}
			}
		})
	}
}

func TestSlowReaderDoesNotHoldOthersBack(t *testing.T) {
	big := strings.Repeat("x", 512<<10)
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, big) })
	for _, limit := range []int64{1 << 20, 64 << 10} { // body kept, body past max_body_bytes
		t.Run("", func(t *testing.T) {
			s := newSession(t, func(c *config.Config) { c.MaxBodyBytes = limit })
			c := s.Client()
			url := fmt.Sprintf("%s/%d", o.URL, limit)
			slow, err := c.Get(url)
			if err != nil {
				t.Fatal(err)
			}
			defer slow.Body.Close()
			readHead(t, slow.Body, "x") // then reads nothing for a while
			fast, err := c.Get(url)
			if err != nil {
				t.Fatal(err)
			}
			if limit < int64(len(big)) {
				// Past max_body_bytes the start of the body is gone: the
				// second caller asked the origin itself.
				if session.InfoOf(fast).Coalesced {
					t.Fatal("joined a stream whose start is no longer held")
				}
			}
			got, err := io.ReadAll(fast.Body)
			fast.Body.Close()
			if err != nil || len(got) != len(big) {
				t.Fatalf("fast reader got %d bytes, %v", len(got), err)
			}
			rest, err := io.ReadAll(slow.Body)
			if err != nil || len(rest) != len(big)-1 {
				t.Fatalf("slow reader got %d bytes, %v", len(rest), err)
			}
		})
	}
}

func TestCallerClosingEarlyStillStores(t *testing.T) {
	d := newDrip(t, "application/json", `{"a":`, `1}`)
	s := newSession(t, nil)
	resp, err := s.Client().Get(d.URL)
	if err != nil {
		t.Fatal(err)
	}
	readHead(t, resp.Body, d.head)
	resp.Body.Close() // before the origin sent the rest
	d.release()
	deadline := time.Now().Add(5 * time.Second)
	for n, _ := s.Cache().Len(context.Background()); n == 0; n, _ = s.Cache().Len(context.Background()) {
		if time.Now().After(deadline) {
			t.Fatal("the body was not stored after the caller closed it")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if body, resp := get(t, s.Client(), d.URL); body != d.head+d.tail || !session.InfoOf(resp).FromCache {
		t.Fatalf("%q from cache %v", body, session.InfoOf(resp).FromCache)
	}
	wantCount(t, d.origin, 1)
}

// A caller that reads a chunked body to its last byte and closes it before
// the chunked end's marker arrives (json.Decoder does: it stops at the
// value's end) leaves the body to be completed in the background; the next
// caller for the URL must join that trip, not ask the origin again.
func TestNextCallerJoinsABodyCompletedInBackground(t *testing.T) {
	d := newDrip(t, "application/json", `{"a":1}`, "") // chunked: no Content-Length
	s := newSession(t, nil)
	resp, err := s.Client().Get(d.URL)
	if err != nil {
		t.Fatal(err)
	}
	readHead(t, resp.Body, d.head)
	resp.Body.Close() // every byte read; the end's marker not yet sent
	resp2, err := s.Client().Get(d.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp2.Body.Close()
	wantCount(t, d.origin, 1)
	d.release()
	if body, err := io.ReadAll(resp2.Body); err != nil || string(body) != d.head {
		t.Fatalf("second caller read %q, %v", body, err)
	}
	if info := session.InfoOf(resp2); !info.Coalesced || !info.FromCache || resp2.Header.Get("X-From-Cache") != "1" {
		// A joined answer is from the cache, as the docs say (issue 37,
		// finding 8).
		t.Fatalf("the second caller's answer does not say it shared the first one's trip from the cache: %+v, X-From-Cache %q", info, resp2.Header.Get("X-From-Cache"))
	}
	if body, resp := get(t, s.Client(), d.URL); body != d.head || !session.InfoOf(resp).FromCache {
		t.Fatalf("third caller: %q from cache %v", body, session.InfoOf(resp).FromCache)
	}
	wantCount(t, d.origin, 1)
}

func TestCutStreamIsNotStoredAndEveryReaderSeesTheError(t *testing.T) {
	d := newDrip(t, "application/json", `{"a":`, "")
	d.cut = true
	tr := ownTransport(t)
	s := newSession(t, nil, session.WithUpstream(tr))
	c := s.Client()
	// What a caller sees without the cache.
	direct, err := (&http.Client{Transport: ownTransport(t)}).Get(d.URL)
	if err != nil {
		t.Fatal(err)
	}
	readHead(t, direct.Body, d.head)
	d.release()
	_, wantErr := io.ReadAll(direct.Body)
	direct.Body.Close()
	if wantErr == nil {
		t.Fatal("the origin's cut did not fail a direct read")
	}

	var bodies []io.ReadCloser
	for i := 0; i < 3; i++ {
		resp, err := c.Get(d.URL)
		if err != nil {
			t.Fatal(err)
		}
		readHead(t, resp.Body, d.head)
		bodies = append(bodies, resp.Body)
	}
	d.release()
	for i, b := range bodies {
		_, err := io.ReadAll(b)
		b.Close()
		if err == nil || err.Error() != wantErr.Error() {
			t.Fatalf("reader %d: %v, want the error a direct read sees (%v)", i, err, wantErr)
		}
	}
	if n, _ := s.Cache().Len(context.Background()); n != 0 {
		t.Fatalf("%d entries stored from a cut body", n)
	}
}

func TestBackgroundCompletionStopsAtClose(t *testing.T) {
	d := newDrip(t, "application/json", `{"never":`, `"ends"}`)
	tr := ownTransport(t)
	baseline := runtime.NumGoroutine()
	s, err := session.New(config.Default(), session.WithUpstream(tr))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		resp, err := s.Client().Get(fmt.Sprintf("%s/%d", d.URL, i))
		if err != nil {
			t.Fatal(err)
		}
		readHead(t, resp.Body, d.head)
		resp.Body.Close() // the session goes on reading, to store it
	}
	done := make(chan error, 1)
	go func() { done <- s.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close waited for streams nobody reads")
	}
	d.release() // too late: nothing is stored
	tr.CloseIdleConnections()
	settleGoroutines(t, baseline)
}

func TestEventStreamIsNeverShared(t *testing.T) {
	d := newDrip(t, "text/event-stream", "data: 1\n\n", "data: 2\n\n")
	s := newSession(t, nil)
	c := s.Client()
	var bodies [][]byte
	var resps []*http.Response
	for i := 0; i < 2; i++ {
		resp, err := c.Get(d.URL)
		if err != nil {
			t.Fatal(err)
		}
		readHead(t, resp.Body, d.head)
		resps = append(resps, resp)
	}
	d.release()
	for _, resp := range resps {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		bodies = append(bodies, b)
	}
	if !bytes.Equal(bodies[0], bodies[1]) || string(bodies[0]) != d.tail {
		t.Fatalf("bodies %q", bodies)
	}
	wantCount(t, d.origin, 2) // each subscriber its own stream
	if n, _ := s.Cache().Len(context.Background()); n != 0 {
		t.Fatalf("%d event streams stored", n)
	}
}

// Close waits for the trips callers wait for (the goroutines coalescing
// starts), as http.Server.Shutdown waits for its connections.
func TestCloseWaitsForTripsInFlight(t *testing.T) {
	arrived, release := make(chan struct{}), make(chan struct{})
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		close(arrived)
		<-release
		io.WriteString(w, "late")
	})
	tr := ownTransport(t)
	baseline := runtime.NumGoroutine()
	s, err := session.New(config.Default(), session.WithUpstream(tr))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background()) // a cancellable caller: its trip runs on a goroutine
	defer cancel()
	got := make(chan string, 1)
	go func() {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, o.URL, nil)
		resp, err := s.Client().Do(req)
		if err != nil {
			got <- err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got <- string(b)
	}()
	<-arrived
	closed := make(chan struct{})
	go func() { s.Close(); close(closed) }()
	select {
	case <-closed:
		t.Fatal("Close returned while a trip was in flight")
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	if body := <-got; body != "late" {
		t.Fatalf("the caller got %q", body)
	}
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return after the trip ended")
	}
	tr.CloseIdleConnections()
	settleGoroutines(t, baseline)
}

// A caller that neither reads nor closes its body (a common bug) does not
// keep the response from being stored: the next caller for it joins the
// trip, and the body is then read for both.
func TestUnreadBodyIsStoredOnceAnotherCallerJoins(t *testing.T) {
	o := newOrigin(t, text("payload"))
	s := newSession(t, nil)
	c := s.Client()
	leaked, err := c.Get(o.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer leaked.Body.Close()
	second, err := c.Get(o.URL)
	if err != nil {
		t.Fatal(err)
	}
	second.Body.Close() // unread too
	deadline := time.Now().Add(5 * time.Second)
	for n, _ := s.Cache().Len(context.Background()); n == 0; n, _ = s.Cache().Len(context.Background()) {
		if time.Now().After(deadline) {
			t.Fatal("the response was never stored")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if body, resp := get(t, c, o.URL); body != "payload" || !session.InfoOf(resp).FromCache {
		t.Fatalf("%q from cache %v", body, session.InfoOf(resp).FromCache)
	}
	wantCount(t, o, 1)
}
