// Package session is reqcache's cached http.RoundTripper, the Go form of
// requests-cache's CachedSession: cache policy (expiration, Cache-Control,
// validators, Vary, keys), the stored model, and cache inspection.
//
// A Session sits in front of an upstream RoundTripper. Use it as a
// Transport, through Client, or wrap an existing client with Wrap:
//
//	s, err := session.New(config.Default())
//	resp, err := s.Client().Get("https://api.example.com/v1/users")
//	fmt.Println(session.InfoOf(resp).FromCache)
//
// A request's journey, file by file, is mapped once, in the repository's
// docs/architecture.md (it starts at RoundTrip, transport.go).
//
// The reference for users is in the repository's docs/: http-semantics.md
// (keys, Cache-Control, Vary, staleness), installing.md and inspecting.md.
package session

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/reqcache/reqcache/config"
	"github.com/reqcache/reqcache/internal/background"
	"github.com/reqcache/reqcache/internal/debugpage"
	"github.com/reqcache/reqcache/internal/flight"
	"github.com/reqcache/reqcache/internal/marks"
	"github.com/reqcache/reqcache/logging"
	"github.com/reqcache/reqcache/stores"
	"github.com/reqcache/reqcache/stores/memory"
)

// Session is a caching http.RoundTripper. It is safe for concurrent use.
type Session struct {
	// reads is the read half of the reads, for every reader; writes is
	// the reads itself, used by the one writer alone (writer.go). Both
	// are observed (observe.go) when an Observer is set.
	reads  stores.Reader
	writes stores.Store
	// opt is what the store can do beyond stores.Store (lend entries to
	// hits, list by resource, leases…), resolved once and observed as the
	// store is.
	opt      stores.Optional
	observer Observer
	upstream http.RoundTripper
	log      *zap.Logger
	now      func() time.Time
	filter   func(*http.Response) bool
	keyFunc  KeyFunc
	signer   PrincipalFunc
	secret   []byte // keys the credential hash (separate_credentials)

	// invalidated marks invalidations, so that no write lands over one
	// that came after its trip began; owedInvalidations holds those the
	// store could not carry out, whose entries are refused until it can.
	invalidated       marks.Marks
	owedInvalidations marks.Owed

	policy  atomic.Pointer[policy]
	flights flight.Group[tripResult] // concurrent misses and revalidations, coalesced
	stats   counters
	errLog  logging.RateLimited

	closed atomic.Bool
	lifeMu sync.Mutex // orders Close against making the debug page's state
	work   *background.Work
	// refreshing holds the keys with a background refresh running.
	refreshing sync.Map

	// The debug page (debug.go): its state once a Handler exists, and
	// what it shows of the configuration.
	debug    atomic.Pointer[debugpage.State]
	backend  string
	maxBytes int64
}

// Option configures a Session.
type Option func(*options)

type options struct {
	store    stores.Store
	logger   *zap.Logger
	upstream http.RoundTripper
	filter   func(*http.Response) bool
	keyFunc  KeyFunc
	signer   PrincipalFunc
	now      func() time.Time
	bgLimit  int
	observer Observer
}

// WithStore makes the session use st instead of opening the memory store.
// The session closes st when it is closed.
func WithStore(st stores.Store) Option { return func(o *options) { o.store = st } }

// WithLogger sets the logger; the default logs nothing.
func WithLogger(l *zap.Logger) Option { return func(o *options) { o.logger = l } }

// WithUpstream sets the RoundTripper that reaches the network; the default
// is http.DefaultTransport as it is when New is called.
func WithUpstream(rt http.RoundTripper) Option { return func(o *options) { o.upstream = rt } }

// WithFilter sets requests-cache's filter_fn: a response for which f returns
// false is not stored, and a cached response for which it returns false is
// deleted and fetched again (the filter is applied retroactively). f must
// not keep or close the response's body.
func WithFilter(f func(*http.Response) bool) Option { return func(o *options) { o.filter = f } }

// WithKeyFunc replaces the cache key computation (requests-cache's key_fn).
func WithKeyFunc(f KeyFunc) Option { return func(o *options) { o.keyFunc = f } }

// WithPrincipal plugs a signing scheme reqcache does not know into the
// credential hash (separate_credentials): for a request f recognizes, the
// principal it returns stands for all of the request's credentials, so
// that one principal's requests share entries whatever their per-request
// signatures, and two principals never do. AWS SigV4 and GCS V4 signatures
// (headers and presigned URLs) are known without it. Query parameters that
// change with every signing belong in ignored_parameters, so that they
// leave the URL's key and are stored REDACTED.
func WithPrincipal(f PrincipalFunc) Option { return func(o *options) { o.signer = f } }

// WithClock sets the session's clock, for tests that move time.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithBackgroundLimit bounds how many stale-while-revalidate refreshes run
// at once (default 8); more are skipped, not queued.
func WithBackgroundLimit(n int) Option { return func(o *options) { o.bgLimit = n } }

// New builds a session from cfg. Without WithStore it opens the memory store
// configured by cfg.Memory; the mongo and tiered backends need a store
// opened by the caller (reqcache.Install does it).
func New(cfg *config.Config, opts ...Option) (*Session, error) {
	return NewContext(context.Background(), cfg, opts...)
}

// NewContext is New with ctx bounding the store I/O it does: reading (or
// creating) the credential key the store keeps for separate_credentials.
func NewContext(ctx context.Context, cfg *config.Config, opts ...Option) (*Session, error) {
	if cfg == nil {
		cfg = config.Default()
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	o := options{bgLimit: 8}
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	p, err := compile(SettingsFrom(cfg))
	if err != nil {
		return nil, err
	}
	s := &Session{
		writes:   o.store,
		upstream: o.upstream,
		log:      o.logger,
		now:      o.now,
		filter:   o.filter,
		keyFunc:  o.keyFunc,
		signer:   o.signer,
	}
	if s.log == nil {
		s.log = zap.NewNop()
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.upstream == nil {
		s.upstream = http.DefaultTransport
	}
	if s.writes == nil {
		if cfg.Backend != "" && cfg.Backend != config.BackendMemory {
			return nil, fmt.Errorf("reqcache: backend %q needs a store: pass session.WithStore or use reqcache.Install", cfg.Backend)
		}
		m, err := memory.New(cfg.Memory, s.log)
		if err != nil {
			return nil, err
		}
		s.writes = m
	}
	s.opt = stores.OptionalOf(s.writes)
	s.backend, s.maxBytes = cmp.Or(cfg.Backend, config.BackendMemory), 0
	if s.backend != config.BackendMongo {
		s.maxBytes = int64(cmp.Or(cfg.Memory.MaxSizeMB, config.Default().Memory.MaxSizeMB)) << 20
	}
	if o.observer != nil {
		s.observer = o.observer
		s.writes = stores.Observe(s.writes, storeObserver(o.observer))
		s.opt = s.opt.Observed(storeObserver(o.observer))
	}
	s.reads = s.writes
	s.policy.Store(p)
	s.errLog.Log, s.errLog.Interval = s.log, 10*time.Second
	s.errLog.Message = "reqcache: cache store failed; requests go to the network"
	s.flights.Joined = &s.stats.coalesced
	s.work = background.New(o.bgLimit)
	s.secret = s.credentialSecret(ctx)
	return s, nil
}

// CredentialKeyAlias is the alias under which a store keeps the key of the
// credential hash, so that every process sharing the store derives the same
// keys and persisted entries still match after a restart. Cache.Clear keeps
// it; tools that empty a store by other means should keep it too.
const CredentialKeyAlias = "reqcache:credential-key"

func (s *Session) credentialSecret(ctx context.Context) []byte {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if v, err := s.reads.GetAlias(ctx, CredentialKeyAlias); err == nil {
		if b, err := hex.DecodeString(v); err == nil && len(b) >= 32 {
			return b
		}
	}
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	// Processes starting together each draw a key: the store keeps the
	// first (stores.AliasAdder), and everybody uses the one it keeps.
	v, err := s.keepCredentialKey(ctx, hex.EncodeToString(b))
	if err != nil {
		s.log.Warn("reqcache: cannot keep the credential key in the store; entries with credentials will not be shared with other processes", zap.Error(err))
		return b
	}
	if stored, err := hex.DecodeString(v); err == nil && len(stored) >= 32 {
		return stored
	}
	return b
}

// Client returns an http.Client that uses the session.
func (s *Session) Client() *http.Client { return &http.Client{Transport: s} }

// Cache returns the inspection and management view of the session's store.
func (s *Session) Cache() *Cache { return &Cache{s: s} }

// Store returns the session's store.
func (s *Session) Store() stores.Store { return s.writes }

// Upstream returns the RoundTripper the session sends requests to.
func (s *Session) Upstream() http.RoundTripper { return s.upstream }

// CloseIdleConnections closes the upstream's idle connections, when it has
// a CloseIdleConnections method (http.Client.CloseIdleConnections and the
// transport Install puts in place call it).
func (s *Session) CloseIdleConnections() {
	if c, ok := s.upstream.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// Settings returns a copy of the current settings.
func (s *Session) Settings() Settings { return s.policy.Load().Settings.Clone() }

// SetSettings replaces the settings for requests that start afterwards.
func (s *Session) SetSettings(st Settings) error {
	p, err := compile(st)
	if err != nil {
		return err
	}
	s.policy.Store(p)
	return nil
}

// Close stops background work (stale-while-revalidate refreshes, bodies
// read to be stored after their callers left), waits for it and for the
// trips callers are waiting for, and closes the store. Requests in flight
// complete (through the network when the store is gone; a caller's context
// bounds its trip); requests made afterwards go straight to the upstream.
// A body a caller is still reading streams on until the caller closes it.
func (s *Session) Close() error {
	s.lifeMu.Lock()
	if !s.closed.CompareAndSwap(false, true) {
		s.lifeMu.Unlock()
		return nil
	}
	s.lifeMu.Unlock()
	s.work.Stop()
	if st := s.debug.Load(); st != nil {
		st.Close()
	}
	s.work.Wait()
	s.flights.Wait()
	return s.writes.Close()
}
