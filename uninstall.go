package reqcache

import "net/http"

// Uninstall puts back the http.DefaultTransport and http.DefaultClient that
// were in place before the first Install (the same values, pointer for
// pointer) and closes the session's store. Requests in flight on the
// session complete, through the network if the store is gone. It does
// nothing when not installed.
func Uninstall() error {
	mu.Lock()
	defer mu.Unlock()
	if current == nil {
		return nil
	}
	inst := current
	current = nil
	http.DefaultTransport = inst.origTransport
	http.DefaultClient = inst.origClient
	return inst.session.Close()
}
