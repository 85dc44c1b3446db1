package reqcache

import (
	"context"
	"net/http"
)

// Transport returns base with the installed cache in front of it, for a
// library that builds its own transport or client (AWS SDK, resty,
// go-retryablehttp, cloud SDKs): one line caches it,
//
//	c.Transport = reqcache.Transport(c.Transport)
//
// Each request uses the installation in place at that moment: it follows
// Uninstall and Install, and goes straight to the network when nothing is
// installed. Misses go through base, so the library keeps its TLS, proxy,
// connection pool and whatever base adds; the store is the installation's,
// never closed by this transport. A nil base means the transport Install
// found in http.DefaultTransport (so that the request is not cached twice),
// as does base being the installed http.DefaultTransport itself.
//
// When base is a *http.Transport, or nil, the result is a *http.Transport
// too (a clone of base, or of the transport Install found), because
// libraries configure the transport they are given after the fact: they
// type-assert it to set TLS roots (go-elasticsearch's CACert, Vault's
// ConfigureTLS), dialers and pool sizes. What they set on it governs the
// requests it sends on a miss. Its misses speak HTTP/1.1: the protocol
// hook that puts the cache in front takes the place net/http gives HTTP/2.
func Transport(base http.RoundTripper) http.RoundTripper {
	switch b := base.(type) {
	case nil:
		if t, ok := foundTransport().(*http.Transport); ok {
			return cachingClone(t)
		}
	case *http.Transport:
		return cachingClone(b) // the installed DefaultTransport's clone is a plain one
	}
	return &cachedTransport{base: base}
}

// foundTransport is the transport Install found in http.DefaultTransport,
// or http.DefaultTransport when nothing is installed.
func foundTransport() http.RoundTripper {
	if inst := active.Load(); inst != nil {
		return inst.origTransport
	}
	return http.DefaultTransport
}

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

// cachingClone is a clone of t (net/http does not copy registered
// protocols: a plain transport) whose "http" and "https" requests the
// installed session answers, its misses sent by the clone itself.
func cachingClone(t *http.Transport) *http.Transport {
	c := t.Clone()
	hook := &cacheHook{own: c}
	c.RegisterProtocol("http", hook)
	c.RegisterProtocol("https", h2Slot{Hook: hook})
	return c
}

// cacheHook is the installed session in front of its own transport. A
// request it sends on (a miss) carries sendingOn, and the hook then hands
// it back to the transport (ErrSkipAltProtocol), which sends it with its
// own settings, whatever a library set on it after Transport returned it.
type cacheHook struct{ own *http.Transport }

type sendingOn struct{}

// RoundTrip answers through the installed session, or lets the transport
// send the request itself.
func (h *cacheHook) RoundTrip(req *http.Request) (*http.Response, error) {
	inst := active.Load()
	if inst == nil || req.Context().Value(sendingOn{}) != nil {
		return nil, http.ErrSkipAltProtocol
	}
	return inst.session.RoundTripVia(req, sendOn{h.own})
}

// sendOn is the upstream of a cacheHook's misses: its own transport, told
// to send the request itself.
type sendOn struct{ own *http.Transport }

func (s sendOn) RoundTrip(req *http.Request) (*http.Response, error) {
	return s.own.RoundTrip(req.WithContext(context.WithValue(req.Context(), sendingOn{}, true)))
}

// h2Slot is the hook as registered for "https": net/http takes the only
// field of a one-field struct registered there as its HTTP/2 transport (as
// h2Hook explains), and then neither configures HTTP/2 of its own (which
// would log "protocol https already registered") nor fails.
type h2Slot struct{ Hook *cacheHook }

// RoundTrip is the hook's.
func (s h2Slot) RoundTrip(req *http.Request) (*http.Response, error) { return s.Hook.RoundTrip(req) }

// CloseIdleConnections is for net/http, which calls it on its HTTP/2
// transport: the transport's own pool is closed by the transport.
func (*cacheHook) CloseIdleConnections() {}
