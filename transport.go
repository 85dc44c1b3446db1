package reqcache

import "net/http"

// Transport returns base with the installed cache in front of it, for a
// library that builds its own transport or client (AWS SDK, resty,
// go-retryablehttp, cloud SDKs): one line caches it,
//
//	c.Transport = reqcache.Transport(c.Transport)
//
// Each request uses the installation in place at that moment: it follows
// Uninstall and Install, and goes straight to base when nothing is
// installed. Misses go through base, so the library keeps its TLS, proxy,
// connection pool and whatever base adds; the store is the installation's,
// never closed by this transport. A nil base means the transport Install
// found in http.DefaultTransport (so that the request is not cached twice),
// as does base being the installed http.DefaultTransport itself.
func Transport(base http.RoundTripper) http.RoundTripper { return &cachedTransport{base: base} }

type cachedTransport struct{ base http.RoundTripper }

// RoundTrip answers through the installed session, sending misses through
// the base transport.
func (t *cachedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	inst := active.Load()
	base := t.base
	if inst == nil {
		if base == nil {
			base = http.DefaultTransport
		}
		return base.RoundTrip(req)
	}
	if base == nil || base == inst.installed || base == http.RoundTripper(inst.session) {
		base = inst.origTransport
	}
	return inst.session.RoundTripVia(req, base)
}

// CloseIdleConnections closes the base transport's idle connections.
func (t *cachedTransport) CloseIdleConnections() {
	if c, ok := t.base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}
