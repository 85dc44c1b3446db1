package reqcache

import (
	"expvar"
	"sync"

	"github.com/reqcache/reqcache/session"
)

var publishMu sync.Mutex

// PublishExpvar publishes the counters of the installed session (see
// session.Stats) under name with package expvar, so they appear at
// /debug/vars next to the runtime's. The variable follows reinstalls and
// reads all zeros while nothing is installed. Publishing a name twice does
// nothing (expvar itself would panic).
func PublishExpvar(name string) {
	publishMu.Lock()
	defer publishMu.Unlock()
	if expvar.Get(name) != nil {
		return
	}
	expvar.Publish(name, expvar.Func(func() any {
		if s := Installed(); s != nil {
			return s.Stats()
		}
		return session.Stats{}
	}))
}
