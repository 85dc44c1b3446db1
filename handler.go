package reqcache

import (
	"net/http"
	"sync/atomic"

	"github.com/reqcache/reqcache/session"
)

// Handler returns the page of the installed cache, for a running program,
// like net/http/pprof: mount it on an internal listener,
//
//	mux.Handle("/debug/reqcache/", reqcache.Handler())
//
// It shows the overview (counters, store size, a chart of the last ten
// minutes, the last requests), "entries" (filtered, paged) and
// "entry?key=…" (headers with credentials redacted, why it is or is not
// fresh), each also as JSON with ?format=json; see
// session.Cache.Handler. It follows Install and Uninstall: each request
// shows the installation in place then, and answers 503 when there is
// none. Its chart and list of recent requests start when Handler is called
// (and again at each later Install), not at the page's first visit.
// Read-only unless given AllowChanges.
func Handler(opts ...session.HandlerOption) http.Handler {
	// The chart and the recent requests start now, and at every later
	// Install, not at the page's first visit: whoever opens it after an
	// incident sees what led up to it.
	pageMounted.Store(true)
	if inst := active.Load(); inst != nil {
		inst.session.Cache().Handler()
	}
	return &installedPage{opts: opts}
}

// pageMounted is set once a Handler exists: every installation then keeps
// the page's history from its start.
var pageMounted atomic.Bool

// AllowChanges lets Handler's page delete entries and clear the cache
// (session.AllowChanges).
func AllowChanges() session.HandlerOption { return session.AllowChanges() }

type installedPage struct{ opts []session.HandlerOption }

func (p *installedPage) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	inst := active.Load()
	if inst == nil {
		w.Header().Set("Cache-Control", "no-store")
		http.Error(w, "reqcache is not installed: nothing to show", http.StatusServiceUnavailable)
		return
	}
	inst.session.Cache().Handler(p.opts...).ServeHTTP(w, r)
}
