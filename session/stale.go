package session

import (
	"bytes"
	"context"
	"io"
	"time"

	"go.uber.org/zap"

	"github.com/reqcache/reqcache/internal/rules"
)

// This file is stale-while-revalidate's background refresh: at most one per
// key at a time (through the same flights as foreground misses), within
// the session's background slots (internal/background: more are skipped, the
// next request tries again), each bounded in time and stopped by Close.

// backgroundTimeout bounds one background refresh.
const backgroundTimeout = time.Minute

func (s *Session) refreshInBackground(x *exchange, f found) {
	if _, busy := s.refreshing.LoadOrStore(x.key, struct{}{}); busy {
		return
	}
	done, ok := s.work.Start()
	if !ok {
		s.refreshing.Delete(x.key)
		if ce := s.log.Check(zap.DebugLevel, "reqcache: background refresh skipped, all slots busy"); ce != nil && !s.closed.Load() {
			ce.Write(zap.String("key", x.key))
		}
		return
	}
	// The refresh outlives the caller's request: it runs under the
	// session's background context (ended by Close) with its own copy of
	// the request and body.
	ctx, cancel := context.WithTimeout(s.work.Context(), backgroundTimeout)
	bx := *x
	bx.since = s.invalidated.Now()
	bx.req = x.req.Clone(ctx)
	if x.body != nil {
		bx.req.Body = io.NopCloser(bytes.NewReader(x.body))
	}
	bx.rq.Refresh = false
	revalidate := rules.HasValidator(f.e.Header)
	go func() {
		defer done()
		defer cancel()
		defer s.refreshing.Delete(x.key)
		res := s.fetch(ctx, &bx, f, revalidate)
		consume(res) // the new entry is stored when its body ends
		if err := failure(res); err != nil {
			if ce := s.log.Check(zap.InfoLevel, "reqcache: background refresh failed"); ce != nil {
				ce.Write(zap.String("key", x.key), errorField(x.p.keys, err, x.req))
			}
		}
	}()
}

// completeInBackground lets a streamed body that nobody reads any more be
// read to its end and stored, as background work (streambody.New): it takes one of the
// background slots, is aborted after backgroundTimeout or by Close (which
// waits for it), and ok is false when it may not run (session closed, no
// slot free). done is called when the body has ended.
func (s *Session) completeInBackground(abort func()) (done func(), ok bool) {
	free, ok := s.work.Start()
	if !ok {
		return nil, false
	}
	stopOnClose := context.AfterFunc(s.work.Context(), abort)
	timer := time.AfterFunc(backgroundTimeout, abort)
	return func() {
		stopOnClose()
		timer.Stop()
		free()
	}, true
}
