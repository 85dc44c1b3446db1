package logging

import (
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// RateLimited writes one message at most once per interval, with the
// number suppressed since, so that a failure repeated by every request (a
// store that is down) does not flood the log.
type RateLimited struct {
	Log      *zap.Logger
	Message  string
	Interval time.Duration

	last       atomic.Int64 // unix nanos of the last line
	suppressed atomic.Int64
}

// Warn writes the message at warn level with fields, unless one was
// written less than Interval ago.
func (r *RateLimited) Warn(fields ...zap.Field) {
	now := time.Now().UnixNano()
	last := r.last.Load()
	if now-last < int64(r.Interval) || !r.last.CompareAndSwap(last, now) {
		r.suppressed.Add(1)
		return
	}
	if ce := r.Log.Check(zap.WarnLevel, r.Message); ce != nil {
		ce.Write(append(fields, zap.Int64("suppressed", r.suppressed.Swap(0)))...)
	}
}
