// Package reqcache caches every HTTP request a Go program makes through
// [net/http.DefaultClient] and [net/http.DefaultTransport], the way
// Python's requests-cache does for requests: call [Install] once at
// start-up, and [net/http.Get], http.DefaultClient and every library that
// uses them answer from the cache when they can.
//
//	if err := reqcache.Install(); err != nil { // reads ./reqcache.toml if present
//		log.Fatal(err)
//	}
//	defer reqcache.Uninstall()
//
// Settings come from a TOML file (see [config.Load]); responses live in
// memory (bigcache), in MongoDB, or in both. Context helpers scope
// behaviour to the requests that carry the context: [Disabled], [Enabled],
// [OnlyIfCached], [Refresh], [ForceRefresh] and [WithExpireAfter].
// [Installed] returns the [session.Session] answering them; its
// [session.Session.Cache] inspects and manages what is stored.
//
// After Install, http.DefaultTransport is still a *http.Transport (a clone
// of the original whose requests the session answers), so libraries that
// type-assert or clone it keep working; a transport a library builds for
// itself is not cached: wrap its client with [session.Wrap].
//
// Install and [Uninstall] change the package variables
// http.DefaultTransport and http.DefaultClient. net/http reads them without
// synchronization, so call Install and Uninstall at start-up and shutdown,
// not while other goroutines are making requests; requests made through a
// session that is being closed still complete (through the network).
//
// The repository's README.md is the landing page; docs/ holds the
// reference (installing.md, configuration.md, http-semantics.md, ...).
package reqcache

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"sync"
	"sync/atomic"

	"go.uber.org/zap"

	"github.com/reqcache/reqcache/config"
	"github.com/reqcache/reqcache/logging"
	"github.com/reqcache/reqcache/session"
	"github.com/reqcache/reqcache/stores"
	"github.com/reqcache/reqcache/stores/backend"
)

// ConfigEnv names the environment variable holding the path of the
// configuration file, used when no option gives a configuration.
const ConfigEnv = "REQCACHE_CONFIG"

// DefaultConfigFile is read when neither an option nor $REQCACHE_CONFIG
// names a configuration and it exists in the working directory.
const DefaultConfigFile = "reqcache.toml"

// Option configures Install.
type Option func(*installOptions)

type installOptions struct {
	cfg      *config.Config
	cfgFile  string
	logger   *zap.Logger
	store    stores.Store
	upstream http.RoundTripper
	observer session.Observer
	sessOpts []session.Option
}

// WithUpstream makes the session send what it does not answer to rt
// instead of the http.DefaultTransport in place before Install (for tests:
// package reqcachetest uses it to fail on requests a fixture lacks).
func WithUpstream(rt http.RoundTripper) Option { return func(o *installOptions) { o.upstream = rt } }

// WithObserver has o observe the installed session's requests and store
// operations (see session.Observer; contrib/prometheus and contrib/otel
// are ready-made observers).
func WithObserver(o session.Observer) Option { return func(opts *installOptions) { opts.observer = o } }

// WithSessionOptions passes opts to the installed session: everything
// session.New takes, Install takes (session.WithFilter is requests-cache's
// filter_fn, session.WithKeyFunc its key_fn). Store, logger, upstream and
// observer have Install options of their own; given both ways, Install's
// win.
func WithSessionOptions(opts ...session.Option) Option {
	return func(o *installOptions) { o.sessOpts = append(o.sessOpts, opts...) }
}

// WithConfigFile reads the configuration from path.
func WithConfigFile(path string) Option { return func(o *installOptions) { o.cfgFile = path } }

// WithConfig uses cfg (validated) instead of reading a file. It wins over
// WithConfigFile.
func WithConfig(cfg *config.Config) Option { return func(o *installOptions) { o.cfg = cfg } }

// WithLogger logs through l instead of the logger built from [logging].
func WithLogger(l *zap.Logger) Option { return func(o *installOptions) { o.logger = l } }

// WithStore uses st instead of opening the configured backend. The
// installation closes st when it is uninstalled or replaced.
func WithStore(st stores.Store) Option { return func(o *installOptions) { o.store = st } }

// installation is what Install changed and what Uninstall puts back.
type installation struct {
	session *session.Session
	// The values in place before the first Install: a second Install
	// replaces the first without losing them.
	origTransport http.RoundTripper
	origClient    *http.Client
	// installed is what Install put in http.DefaultTransport.
	installed http.RoundTripper
}

var (
	mu      sync.Mutex
	current *installation
	// active is current for readers on the request path (Transport),
	// which must not take mu: set with it.
	active atomic.Pointer[installation]
)

// Install loads the configuration, opens the store, builds a session whose
// upstream is the http.DefaultTransport in place before reqcache, and makes
// http.DefaultClient a client using the session and http.DefaultTransport a
// transport answered by it: a *http.Transport whenever the replaced one was
// (see installedTransport), so code that type-asserts or clones it keeps
// working. The configuration is the first found of: WithConfig, WithConfigFile,
// the file named by $REQCACHE_CONFIG, ./reqcache.toml, config.Default().
//
// Installing again replaces the previous installation (its store is
// closed; the true originals are still remembered). After an error nothing
// changes.
func Install(opts ...Option) error {
	return InstallContext(context.Background(), opts...)
}

// InstallContext is Install with ctx bounding the store I/O it does
// (connecting to MongoDB, reading the credential key).
func InstallContext(ctx context.Context, opts ...Option) error {
	var o installOptions
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	cfg, err := resolveConfig(&o)
	if err != nil {
		return err
	}
	logger := o.logger
	if logger == nil {
		if logger, err = logging.New(cfg.Logging); err != nil {
			return err
		}
	}

	mu.Lock()
	locked := true
	defer func() {
		if locked {
			mu.Unlock()
		}
	}()
	origTransport, origClient := http.DefaultTransport, http.DefaultClient
	if current != nil {
		origTransport, origClient = current.origTransport, current.origClient
	}
	store := o.store
	if store == nil {
		if store, err = backend.Open(ctx, cfg, logger); err != nil {
			return err
		}
	}
	sessOpts := append(o.sessOpts[:len(o.sessOpts):len(o.sessOpts)],
		session.WithStore(store),
		session.WithLogger(logger),
		session.WithUpstream(upstreamOr(o.upstream, origTransport)))
	if o.observer != nil {
		sessOpts = append(sessOpts, session.WithObserver(o.observer))
	}
	sess, err := session.NewContext(ctx, cfg, sessOpts...)
	if err != nil {
		store.Close()
		return err
	}
	installed := installedTransport(origTransport, sess)
	// The default client calls the session directly: a hit then skips the
	// installed transport's header validation, and behaves the same.
	client := &http.Client{Transport: sess}
	if origClient != nil {
		client.CheckRedirect = origClient.CheckRedirect
		client.Jar = origClient.Jar
		client.Timeout = origClient.Timeout
	}
	previous := current
	current = &installation{session: sess, origTransport: origTransport, origClient: origClient, installed: installed}
	active.Store(current)
	if pageMounted.Load() {
		sess.Cache().Handler() // the page's history starts with the installation (handler.go)
	}
	http.DefaultTransport = installed
	http.DefaultClient = client
	mu.Unlock()
	locked = false
	// Closing waits for the replaced session's trips in flight: outside
	// the lock, so that nothing else waits for them.
	if previous != nil {
		if err := previous.session.Close(); err != nil {
			logger.Warn("reqcache: closing the replaced installation's store", zap.Error(err))
		}
	}
	if ce := logger.Check(zap.InfoLevel, "reqcache: installed"); ce != nil {
		ce.Write(zap.String("backend", cfg.Backend), zap.String("config", cfg.Source))
	}
	return nil
}

func upstreamOr(rt, orig http.RoundTripper) http.RoundTripper {
	if rt != nil {
		return rt
	}
	return orig
}

// installedTransport is what becomes http.DefaultTransport. When the
// transport being replaced is a *http.Transport (the usual case) it is a
// clone of it whose "http" and "https" requests are answered by the
// session, so that libraries that type-assert http.DefaultTransport to
// *http.Transport, or Clone it, keep working (a clone is a plain, uncached
// transport: net/http does not copy registered protocols). The session's
// upstream stays the original transport, with its connection pool, proxy,
// TLS and HTTP/2 settings. Any other transport (a program installed its own
// wrapper first) is replaced by the session itself.
func installedTransport(orig http.RoundTripper, sess *session.Session) http.RoundTripper {
	t, ok := orig.(*http.Transport)
	if !ok || t == nil {
		return sess
	}
	c := t.Clone()
	c.RegisterProtocol("http", sess)
	c.RegisterProtocol("https", h2Hook{Session: sess})
	return c
}

// h2Hook is the session as registered for "https". net/http takes the only
// field of a one-field struct registered for "https" as its HTTP/2
// transport (golang/go#22891, for x/net/http2): it then neither configures
// HTTP/2 of its own on the installed transport (which would log "protocol
// https already registered") nor forgets to pass CloseIdleConnections on,
// which reaches the session and through it the original transport. Requests
// net/http keeps on HTTP/1 (websocket upgrades over TLS) skip registered
// protocols and use the installed transport's own pool.
type h2Hook struct{ Session *session.Session }

// RoundTrip answers through the session.
func (h h2Hook) RoundTrip(req *http.Request) (*http.Response, error) { return h.Session.RoundTrip(req) }

// resolveConfig finds the configuration in the documented order. Its
// errors start with "reqcache: ", as every error Install returns does (a
// *config.Error stays reachable through errors.As).
func resolveConfig(o *installOptions) (*config.Config, error) {
	switch {
	case o.cfg != nil:
		cfg := o.cfg.Clone()
		if err := cfg.Validate(); err != nil {
			return nil, fmt.Errorf("reqcache: %w", err)
		}
		return cfg, nil
	case o.cfgFile != "":
		return loadConfig(o.cfgFile, "")
	}
	if path := os.Getenv(ConfigEnv); path != "" {
		return loadConfig(path, "$"+ConfigEnv+": ")
	}
	if _, err := os.Stat(DefaultConfigFile); err == nil {
		return loadConfig(DefaultConfigFile, "")
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("reqcache: %s: %w", DefaultConfigFile, err)
	}
	return config.Default(), nil
}

// loadConfig is config.Load with Install's error prefix; from says where
// the path came from, when not from the caller.
func loadConfig(path, from string) (*config.Config, error) {
	cfg, err := config.Load(path)
	if err != nil {
		return nil, fmt.Errorf("reqcache: %s%w", from, err)
	}
	return cfg, nil
}

// IsInstalled reports whether reqcache is installed.
func IsInstalled() bool {
	mu.Lock()
	defer mu.Unlock()
	return current != nil
}

// Installed returns the installed session, or nil. Installed().Cache() is
// requests-cache's get_cache().
func Installed() *session.Session {
	mu.Lock()
	defer mu.Unlock()
	if current == nil {
		return nil
	}
	return current.session
}

// Clear removes every cached response. It does nothing when not installed.
func Clear(ctx context.Context) error {
	if s := Installed(); s != nil {
		return s.Cache().Clear(ctx)
	}
	return nil
}

// Delete removes the cached responses sel selects (a [session.Selector])
// and returns how many. It
// does nothing when not installed.
func Delete(ctx context.Context, sel session.Selector) (int, error) {
	if s := Installed(); s != nil {
		return s.Cache().Delete(ctx, sel)
	}
	return 0, nil
}
