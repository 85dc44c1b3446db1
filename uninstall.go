package reqcache

import "net/http"

// Uninstall puts back the http.DefaultTransport and http.DefaultClient that
// were in place before the first Install (the same values, pointer for
// pointer) and closes the session's store. Requests in flight on the
// session complete, through the network if the store is gone. It does
// nothing when not installed.
func Uninstall() error {
	mu.Lock()
	inst := current
	current = nil
	active.Store(nil)
	if inst != nil {
		http.DefaultTransport = inst.origTransport
		http.DefaultClient = inst.origClient
	}
	mu.Unlock()
	if inst == nil {
		return nil
	}
	// Closing waits for the session's trips in flight: outside the lock.
	return inst.session.Close()
}
