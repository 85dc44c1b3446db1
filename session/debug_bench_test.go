package session_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/reqcache/reqcache/config"
	"github.com/reqcache/reqcache/session"
	"github.com/reqcache/reqcache/stores"
)

// BenchmarkPage renders each view of the debug page with 100,000 responses
// stored (1 KiB bodies, memory store): issue 31 asks for under 50 ms, and
// for no allocation in proportion to the store beyond the page shown
// (compare B/op with BenchmarkPage/store-scan, which reads every entry).
func BenchmarkPage(b *testing.B) {
	const n = 100_000
	cfg := config.Default()
	cfg.Memory.MaxSizeMB = 1024
	s, err := session.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	body := make([]byte, 1024)
	now := time.Now()
	var key string
	for i := 0; i < n; i++ {
		key = fmt.Sprintf("%032x", i)
		e := &stores.Entry{
			Key: key, StatusCode: 200, Body: body, Method: http.MethodGet,
			URL:       fmt.Sprintf("https://api%d.example.com/v1/items/%d?page=2", i%10, i),
			Header:    http.Header{"Content-Type": {"application/json"}, "Cache-Control": {"max-age=3600"}, "Etag": {`"abc"`}},
			CreatedAt: now, RequestedAt: now, ExpiresAt: now.Add(time.Duration(i%2) * time.Hour), URIKey: key,
		}
		if err := s.Store().Set(ctx, e); err != nil {
			b.Fatal(err)
		}
	}
	if got, _ := s.Cache().Len(ctx); got != n {
		b.Fatalf("%d stored, want %d", got, n)
	}
	h := s.Cache().Handler()
	for _, view := range []string{"", "entries", "entries?host=api3.example.com&state=fresh", "entries?q=nowhere", "entry?key=" + key} {
		name := view
		if name == "" {
			name = "overview"
		}
		b.Run(strings.ReplaceAll(name, "/", "_"), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/debug/reqcache/"+view, nil))
				if rec.Code != 200 {
					b.Fatalf("%s: %d", view, rec.Code)
				}
			}
		})
	}
	b.Run("store-scan", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = s.Store().Scan(ctx, func(*stores.Entry) bool { return true })
		}
	})
}
