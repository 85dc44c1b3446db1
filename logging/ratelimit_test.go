package logging

import (
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

func TestRateLimitedWritesOncePerInterval(t *testing.T) {
	core, logs := observer.New(zap.WarnLevel)
	r := RateLimited{Log: zap.New(core), Message: "store down", Interval: time.Hour}
	for i := 0; i < 5; i++ {
		r.Warn(zap.Int("i", i))
	}
	if logs.Len() != 1 {
		t.Fatalf("%d lines in one interval, want 1", logs.Len())
	}
	r.last.Store(0) // the interval has passed
	r.Warn()
	if got := logs.All()[1].ContextMap()["suppressed"]; got != int64(4) {
		t.Fatalf("the next line says %v suppressed, want 4", got)
	}
}
