package session_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/reqcache/reqcache/config"
	"github.com/reqcache/reqcache/session"
)

// TestHugeBodyStreamsInBoundedMemory sends a 256 MiB response, far above
// max_body_bytes (16 MiB by default), through the cache. The origin writes
// its first MiB and then waits until the caller has read it: the caller
// must get the first bytes long before the body ends, and the heap must
// stay under max_body_bytes + 8 MiB above where it started.
func TestHugeBodyStreamsInBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("moves 256 MiB")
	}
	const size = 256 << 20
	chunk := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	firstRead := make(chan struct{})
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(size))
		w.Header().Set("Cache-Control", "max-age=3600")
		w.Write(chunk)
		w.(http.Flusher).Flush()
		select {
		case <-firstRead:
		case <-time.After(10 * time.Second):
			return // the caller never saw the first MiB: the test fails below
		}
		for written := len(chunk); written < size; written += len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
	tr := ownTransport(t)
	s := newSession(t, nil, session.WithUpstream(tr))
	limit := config.Default().MaxBodyBytes
	base := settledHeap()

	resp, err := s.Client().Get(o.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	first := make([]byte, len(chunk))
	if _, err := io.ReadFull(resp.Body, first); err != nil {
		t.Fatalf("reading the first MiB: %v", err)
	}
	close(firstRead) // only now does the origin send the other 255 MiB
	var peak uint64
	buf := make([]byte, 256<<10)
	total := len(first)
	for {
		n, err := resp.Body.Read(buf)
		total += n
		if total%(16<<20) < n { // every 16 MiB
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			peak = max(peak, m.HeapAlloc)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("after %d bytes: %v", total, err)
		}
	}
	if total != size {
		t.Fatalf("read %d bytes, want %d", total, size)
	}
	grown := int64(peak) - int64(base)
	t.Logf("256 MiB streamed; heap peak %.1f MiB above the start (limit %d MiB + 8 MiB)", float64(grown)/(1<<20), limit>>20)
	if grown > limit+8<<20 {
		t.Fatalf("heap grew by %.1f MiB while streaming", float64(grown)/(1<<20))
	}
	if info := session.InfoOf(resp); info.Stored || info.FromCache {
		t.Fatalf("a body above max_body_bytes was stored or served from cache: %+v", info)
	}
}

// TestMillionEntriesStayWithinMaxSize stores 1,000,000 distinct 1 KiB
// responses into a 256 MiB memory store (answered by an in-process upstream,
// so it measures the cache, not the network) and checks the live heap
// afterwards is at most 1.25 × max_size_mb.
func TestMillionEntriesStayWithinMaxSize(t *testing.T) {
	loadTest(t, "stores 1,000,000 responses")
	const maxMB, n = 256, 1_000_000
	body := bytes.Repeat([]byte("x"), 1<<10)
	up := roundTripFunc(func(req *http.Request) (*http.Response, error) {
		return &http.Response{
			StatusCode: 200, Status: "200 OK", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header:        http.Header{"Content-Type": {"application/octet-stream"}},
			Body:          io.NopCloser(bytes.NewReader(body)),
			ContentLength: int64(len(body)),
			Request:       req,
		}, nil
	})
	base := settledHeap()
	cfg := config.Default()
	cfg.Memory.MaxSizeMB = maxMB
	s, err := session.New(cfg, session.WithUpstream(up))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c := s.Client()
	start := time.Now()
	for i := range n {
		resp, err := c.Get(fmt.Sprintf("http://fill.example/item/%d", i))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	took := time.Since(start)
	heap := settledHeap() - base
	entries, _ := s.Cache().Len(t.Context())
	t.Logf("%d responses stored in %v; %d kept; live heap %.1f MiB for max_size_mb = %d (%.2f×)",
		n, took.Round(time.Millisecond), entries, float64(heap)/(1<<20), maxMB, float64(heap)/(maxMB<<20))
	if heap > maxMB<<20*5/4 {
		t.Fatalf("live heap %.1f MiB, over 1.25 × %d MiB", float64(heap)/(1<<20), maxMB)
	}
	if entries < n/10 {
		t.Fatalf("only %d entries kept", entries)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
