package session

import (
	"net/http"

	"github.com/reqcache/reqcache/config"
)

// Wrap returns a copy of c (timeout, cookie jar and redirect policy kept)
// whose transport caches in front of c's transport, and the session doing
// it (requests-cache's CacheMixin). c itself is not changed. A nil c wraps
// http.DefaultClient. Close the session when done with the client.
func Wrap(c *http.Client, cfg *config.Config, opts ...Option) (*http.Client, *Session, error) {
	if c == nil {
		c = http.DefaultClient
	}
	upstream := c.Transport
	if upstream == nil {
		upstream = http.DefaultTransport
	}
	s, err := New(cfg, append([]Option{WithUpstream(upstream)}, opts...)...)
	if err != nil {
		return nil, nil, err
	}
	wrapped := *c
	wrapped.Transport = s
	return &wrapped, s, nil
}
