package session

import (
	"bytes"
	"io"
	"net/http"
	"testing"

	"github.com/reqcache/reqcache/config"
	"github.com/reqcache/reqcache/internal/rules"
)

// The parts of a hit, each on its own, so that each one's cost is known
// (issue 30): the key, the lookup (one hot-tier Peek, Vary), the reuse
// decision, and building the answer; for a plain entry and for one that
// varies on Accept-Encoding, as most API responses do, asked for by a
// request that sends it.

type fixedUpstream struct{ header http.Header }

func (u fixedUpstream) RoundTrip(req *http.Request) (*http.Response, error) {
	body := bytes.Repeat([]byte("0123456789abcdef"), 64)
	return &http.Response{StatusCode: 200, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: u.header.Clone(), Body: io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body)), Request: req}, nil
}

// hitExchange stores the benchmark's response and returns the session and
// the exchange a hit for it starts as (what roundTrip builds).
func hitExchange(b *testing.B, vary bool) (*Session, *exchange) {
	cfg := config.Default()
	cfg.Memory.MaxSizeMB, cfg.Memory.Shards = 8, 8
	header := http.Header{"Content-Type": {"application/json"}, "Cache-Control": {"public"}, "Etag": {`"abc123"`}}
	if vary {
		header["Vary"] = []string{"Accept-Encoding"}
	}
	s, err := New(cfg, WithUpstream(fixedUpstream{header}))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	req, _ := http.NewRequest(http.MethodGet, "http://api.example.com/v1/items?id=42&page=1", nil)
	if vary {
		req.Header.Set("Accept-Encoding", "gzip")
	}
	resp, err := s.Client().Do(req)
	if err != nil {
		b.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	x := &exchange{req: req, p: s.policy.Load(), up: s.upstream}
	x.rq.Directives = rules.Absent()
	x.key = s.keyFor(x.p, req, nil)
	if f := s.lookup(x); f.e == nil {
		b.Fatal("nothing stored for the hit")
	}
	return s, x
}

// components runs f for a plain entry and one varying on Accept-Encoding.
func components(b *testing.B, f func(b *testing.B, s *Session, x *exchange)) {
	for _, vary := range []bool{false, true} {
		name := "plain"
		if vary {
			name = "vary-accept-encoding"
		}
		b.Run(name, func(b *testing.B) {
			s, x := hitExchange(b, vary)
			f(b, s, x)
		})
	}
}

func BenchmarkComponentKey(b *testing.B)    { components(b, benchKey) }
func BenchmarkComponentLookup(b *testing.B) { components(b, benchLookup) }
func BenchmarkComponentDecide(b *testing.B) { components(b, benchDecide) }
func BenchmarkComponentServe(b *testing.B)  { components(b, benchServe) }

func benchKey(b *testing.B, s *Session, x *exchange) {
	b.ReportAllocs()
	for b.Loop() {
		s.keyFor(x.p, x.req, nil)
	}
}

func benchLookup(b *testing.B, s *Session, x *exchange) {
	b.ReportAllocs()
	for b.Loop() {
		s.lookup(x)
	}
}

func benchDecide(b *testing.B, s *Session, x *exchange) {
	f := s.lookup(x)
	b.ReportAllocs()
	for b.Loop() {
		if d := s.decide(x, f.e, false); d.Action != rules.Serve {
			b.Fatalf("decided %v", d)
		}
	}
}

func benchServe(b *testing.B, s *Session, x *exchange) {
	f := s.lookup(x)
	b.ReportAllocs()
	for b.Loop() {
		resp := s.serve(x, f.e, f.key, f.lent, answered{})
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}
