// Package config holds reqcache's settings: the TOML schema, its defaults and
// its validation. It knows nothing of HTTP; the session package gives the
// settings their meaning.
package config

import "time"

// Backends accepted by the backend key.
const (
	BackendMemory = "memory"
	BackendMongo  = "mongo"
	BackendTiered = "tiered"
)

// Config is the whole of a reqcache configuration file.
type Config struct {
	// Backend is "memory" (bigcache), "mongo" or "tiered" (bigcache in front
	// of MongoDB).
	Backend string `toml:"backend"`
	// Settings holds the top-level keys a running session can change.
	Settings

	Memory  Memory  `toml:"memory"`
	Mongo   Mongo   `toml:"mongo"`
	Logging Logging `toml:"logging"`
	// Encryption seals stored responses at rest ([encryption]).
	Encryption Encryption `toml:"encryption"`

	// Source is the file the configuration was loaded from ("" for
	// built-in defaults). It is not a TOML key.
	Source string `toml:"-"`
}

// URLExpiration is one [[urls_expire_after]] table.
type URLExpiration struct {
	// Pattern is a glob over host and path; the scheme is ignored and a
	// trailing * is implied.
	Pattern string `toml:"pattern"`
	// Regex, instead of Pattern, is a regular expression (Go's RE2 syntax)
	// searched for anywhere in the URL as sent, scheme included, with
	// scheme and host lower-cased (requests-cache's re.compile patterns).
	Regex string `toml:"regex"`
	// ExpireAfter applies to URLs matching Pattern or Regex.
	ExpireAfter Expiration `toml:"expire_after"`
}

// MatchHeaders is match_headers: false, true (every request header), or a
// list of header names.
type MatchHeaders struct {
	All   bool
	Names []string
}

// Enabled reports whether any header joins the cache key.
func (m MatchHeaders) Enabled() bool { return m.All || len(m.Names) > 0 }

// StaleLimit is stale_if_error / stale_while_revalidate /
// heuristic_freshness: false, true (unbounded) or a duration (the longest
// staleness accepted; for heuristic_freshness, the longest heuristic
// lifetime).
type StaleLimit struct {
	Enabled bool
	// Max is the longest staleness accepted; 0 with Enabled means no bound.
	Max time.Duration
}

// Allows reports whether a response stale by staleness may be used.
func (s StaleLimit) Allows(staleness time.Duration) bool {
	return s.Enabled && (s.Max == 0 || staleness <= s.Max)
}

// Memory is the [memory] table: the bigcache store.
type Memory struct {
	// MaxSizeMB bounds the memory store, in MiB.
	MaxSizeMB int `toml:"max_size_mb"`
	// Shards is bigcache's shard count, a power of two.
	Shards int `toml:"shards"`
	// MaxAge caps how long an entry may stay in the memory tier of the
	// tiered backend before it is read again from MongoDB (0: no cap).
	MaxAge Duration `toml:"max_age"`
	// InvalidationPoll is how often the memory tier of the tiered backend
	// reads the invalidations other processes made through MongoDB, and
	// drops its copies of those resources (0: never; max_age bounds then).
	InvalidationPoll Duration `toml:"invalidation_poll"`
	// Snapshot is a file the memory store (and the memory tier of tiered)
	// is loaded from when it opens and written to when it closes, so that
	// short-lived programs keep their cache ("": no snapshot).
	Snapshot string `toml:"snapshot"`
	// SnapshotInterval also writes the snapshot this often while the store
	// is open (0: only when it closes).
	SnapshotInterval Duration `toml:"snapshot_interval"`
}

// Values of [mongo] compress.
const (
	CompressZstd = "zstd"
	CompressNone = "none"
)

// Mongo is the [mongo] table.
type Mongo struct {
	// URI is the connection string; "${VAR}" is expanded from the environment.
	URI        string `toml:"uri"`
	Database   string `toml:"database"`
	Collection string `toml:"collection"`
	// ConnectTimeout bounds connecting at start-up.
	ConnectTimeout Duration `toml:"connect_timeout"`
	// OpTimeout bounds every operation.
	OpTimeout   Duration `toml:"op_timeout"`
	MaxPoolSize int      `toml:"max_pool_size"`
	// Retention, when set, removes entries that expired longer ago than
	// this: a TTL index where the server has them, and a sweeper (one
	// across the processes sharing the collection) that also deletes the
	// GridFS bodies of removed entries. Zero keeps them.
	Retention Duration `toml:"retention"`
	// SweepInterval is how often the sweeper runs across the fleet (with
	// retention set).
	SweepInterval Duration `toml:"sweep_interval"`
	// Lease lets one process of those sharing the collection fetch a
	// missing response while the others wait (up to this long) for the
	// entry it stores, instead of each asking the origin. Zero turns
	// cross-process coalescing off.
	Lease Duration `toml:"lease"`
	// Compress stores bodies compressed: "zstd" (the default) or "none".
	// Content already compressed (images, archives, a Content-Encoding) is
	// stored as it is; documents stay readable either way.
	Compress string `toml:"compress"`
}

// Logging is the [logging] table. Without it in the file the library logs
// nothing.
type Logging struct {
	Level  string `toml:"level"`
	Format string `toml:"format"`
	// Configured is true when the file has a [logging] table.
	Configured bool `toml:"-"`
}

// Encryption is the [encryption] table: where the keys that seal stored
// responses are (off when neither is set; with both, the variable's keys
// come first). The keys are base64, 32 bytes each; the first seals, every
// one opens.
type Encryption struct {
	// KeyEnv names an environment variable holding the keys,
	// comma-separated.
	KeyEnv string `toml:"key_env"`
	// KeyFile is a file (mode 0600) with one key a line.
	KeyFile string `toml:"key_file"`
}

// Duration is a time.Duration read from a TOML string such as "5s".
type Duration time.Duration

// Std returns d as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

// defaultIgnoredParameters are the credentials left out of keys and redacted
// unless ignored_parameters says otherwise.
var defaultIgnoredParameters = []string{
	"Authorization", "Proxy-Authorization", "X-API-Key", "X-Auth-Token",
	"X-API-Token", "X-Access-Token", "access_token", "api_key", "apikey",
}

// DefaultIgnoredParameters returns the default ignored_parameters (a new
// slice each call: the defaults cannot be changed from outside).
func DefaultIgnoredParameters() []string {
	return append([]string(nil), defaultIgnoredParameters...)
}

// Default returns the built-in configuration: the memory backend, responses
// never expire, only 200 responses to GET and HEAD are stored.
func Default() *Config {
	return &Config{
		Backend: BackendMemory,
		Settings: Settings{
			ExpireAfter:         NeverExpire,
			CacheControl:        true,
			AllowableCodes:      []int{200},
			AllowableMethods:    []string{"GET", "HEAD"},
			IgnoredParameters:   DefaultIgnoredParameters(),
			MaxBodyBytes:        16 << 20,
			SeparateCredentials: true,
			HeuristicFreshness:  StaleLimit{Enabled: true, Max: 24 * time.Hour},
		},
		Memory: Memory{MaxSizeMB: 256, Shards: 256, InvalidationPoll: Duration(500 * time.Millisecond)},
		Mongo: Mongo{
			URI:            "mongodb://127.0.0.1:27017",
			Database:       "http_cache",
			Collection:     "responses",
			ConnectTimeout: Duration(5 * time.Second),
			OpTimeout:      Duration(2 * time.Second),
			MaxPoolSize:    100,
			Compress:       CompressZstd,
			SweepInterval:  Duration(5 * time.Minute),
			Lease:          Duration(10 * time.Second),
		},
		Logging: Logging{Level: "warn", Format: "console"},
	}
}

// Clone returns a deep copy of c.
func (c *Config) Clone() *Config {
	n := *c
	n.Settings = c.Settings.Clone()
	return &n
}
