package config

import (
	"errors"
	"fmt"
	"path"
	"strings"
)

// Validate checks c as Load checks a file, for a configuration built in
// code (start from Default and change what you need). It returns the first
// problem found as an *Error naming the key, such as
//
//	allowable_methods[1]: "GE T" is not an HTTP method
//
// Validate does not modify c, so it is safe to call on a configuration that
// other goroutines read. It accepts lower-case method names (Load upper-cases
// them; the session compares methods in upper case) and logging values in
// any case.
func (c *Config) Validate() error {
	if c == nil {
		return keyError("", "nil configuration")
	}
	if ps := c.problems(); len(ps) > 0 {
		return ps[0]
	}
	return nil
}

// ValidatePattern checks a urls_expire_after pattern: a glob in path.Match
// syntax (*, ?, [class], \ escapes) over host and path. A leading scheme
// ("https://") is ignored, as the session ignores it; what remains must not
// be empty.
func ValidatePattern(pattern string) error {
	p := pattern
	if i := strings.Index(p, "://"); i >= 0 {
		p = p[i+len("://"):]
	}
	if strings.TrimSpace(p) == "" {
		if pattern == "" {
			return errors.New("empty pattern")
		}
		return fmt.Errorf("pattern %q has nothing but a scheme", pattern)
	}
	if _, err := path.Match(p, ""); err != nil {
		return fmt.Errorf("bad pattern %q: %v", pattern, err)
	}
	return nil
}

// Bounds of the [memory] sizes.
const (
	maxMemoryMB = 1 << 24
	maxShards   = 1 << 16
)

// problems lists everything wrong with c, in schema order. Load attaches
// file and line to each and reports the first in file order.
func (c *Config) problems() []*Error {
	var ps []*Error
	add := func(key, format string, args ...any) {
		ps = append(ps, keyError(key, format, args...))
	}

	switch c.Backend {
	case BackendMemory, BackendMongo, BackendTiered:
	default:
		add("backend", "unknown backend %q (want %q, %q or %q)", c.Backend, BackendMemory, BackendMongo, BackendTiered)
	}
	ps = c.Settings.problems(ps)

	// The upper bounds keep bigcache's size arithmetic from overflowing and
	// its shard table from taking the machine's memory at start.
	if n := c.Memory.MaxSizeMB; n <= 0 || n > maxMemoryMB {
		add("memory.max_size_mb", "must be between 1 and %d (16 TiB), got %d", maxMemoryMB, n)
	}
	if n := c.Memory.Shards; n <= 0 || n > maxShards || n&(n-1) != 0 {
		add("memory.shards", "must be a power of two from 1 to %d, got %d", maxShards, n)
	}
	if c.Memory.InvalidationPoll < 0 {
		add("memory.invalidation_poll", "negative duration %s", c.Memory.InvalidationPoll)
	}
	if c.Memory.MaxAge < 0 {
		add("memory.max_age", "negative duration %s", c.Memory.MaxAge)
	}
	if c.Memory.SnapshotInterval < 0 {
		add("memory.snapshot_interval", "negative duration %s", c.Memory.SnapshotInterval)
	}
	if c.Memory.SnapshotInterval > 0 && c.Memory.Snapshot == "" {
		add("memory.snapshot_interval", "set without memory.snapshot: name the file to write")
	}

	switch c.Mongo.Compress {
	case CompressZstd, CompressNone:
	default:
		add("mongo.compress", "unknown compression %q (want %q or %q)", c.Mongo.Compress, CompressZstd, CompressNone)
	}
	if err := checkMongoURI(c.Mongo.URI); err != nil {
		add("mongo.uri", "%v", err)
	}
	if err := checkDatabase(c.Mongo.Database); err != nil {
		add("mongo.database", "%v", err)
	}
	if err := checkCollection(c.Mongo.Collection); err != nil {
		add("mongo.collection", "%v", err)
	}
	if c.Mongo.ConnectTimeout <= 0 {
		add("mongo.connect_timeout", "must be positive, got %s", c.Mongo.ConnectTimeout)
	}
	if c.Mongo.OpTimeout <= 0 {
		add("mongo.op_timeout", "must be positive, got %s", c.Mongo.OpTimeout)
	}
	if c.Mongo.MaxPoolSize <= 0 {
		add("mongo.max_pool_size", "must be positive, got %d", c.Mongo.MaxPoolSize)
	}
	if c.Mongo.Retention < 0 {
		add("mongo.retention", "negative duration %s", c.Mongo.Retention)
	}
	if c.Mongo.SweepInterval < 0 {
		add("mongo.sweep_interval", "negative duration %s", c.Mongo.SweepInterval)
	}
	if c.Mongo.Lease < 0 {
		add("mongo.lease", "negative duration %s", c.Mongo.Lease)
	}

	switch strings.ToLower(c.Logging.Level) {
	case "debug", "info", "warn", "error", "off":
	default:
		add("logging.level", "unknown level %q (want debug, info, warn, error or off)", c.Logging.Level)
	}
	switch strings.ToLower(c.Logging.Format) {
	case "console", "json":
	default:
		add("logging.format", "unknown format %q (want console or json)", c.Logging.Format)
	}
	return ps
}

// checkExpiration refuses the one Expiration the constructors can build
// but that means nothing: At with the zero time (which ExpiresAt would
// report as "never").
func checkExpiration(e Expiration) error {
	if e.Kind() == AtTime && e.Time().IsZero() {
		return errors.New("expiration time is the zero time")
	}
	return nil
}

// isToken reports whether s is an RFC 9110 token: what a method or a header
// field name must be.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			continue
		}
		if !strings.ContainsRune("!#$%&'*+-.^_`|~", rune(c)) {
			return false
		}
	}
	return true
}

// checkMongoURI checks the scheme only, and never repeats the URI in its
// message: it may hold a password.
func checkMongoURI(uri string) error {
	if strings.TrimSpace(uri) == "" {
		return errors.New("empty")
	}
	lower := strings.ToLower(uri)
	if !strings.HasPrefix(lower, "mongodb://") && !strings.HasPrefix(lower, "mongodb+srv://") {
		return errors.New("want a mongodb:// or mongodb+srv:// connection string")
	}
	if strings.TrimLeft(uri[strings.Index(uri, "://")+3:], "/") == "" {
		return errors.New("no host in the connection string")
	}
	return nil
}

// checkDatabase applies MongoDB's rules for database names.
func checkDatabase(name string) error {
	switch {
	case name == "":
		return errors.New("empty")
	case len(name) >= 64:
		return fmt.Errorf("%q is longer than MongoDB's 63 bytes", name)
	case strings.ContainsAny(name, "/\\. \"$*<>:|?\x00"):
		return fmt.Errorf("%q holds a character MongoDB refuses in a database name (one of /\\. \"$*<>:|?)", name)
	}
	return nil
}

// checkCollection applies MongoDB's rules for collection names.
func checkCollection(name string) error {
	switch {
	case name == "":
		return errors.New("empty")
	case strings.ContainsAny(name, "$\x00"):
		return fmt.Errorf("%q holds $ or a NUL byte, which MongoDB refuses in a collection name", name)
	case strings.HasPrefix(name, "system."):
		return fmt.Errorf("%q is in MongoDB's reserved system. namespace", name)
	}
	return nil
}
