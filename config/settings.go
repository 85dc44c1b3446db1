package config

import (
	"regexp"
	"strings"
)

// Settings are the cache behaviours a running session can change
// (requests-cache's CachedSession.settings): every top-level key but
// backend. The session package gives them their meaning; Config embeds
// them, so that each key is declared, defaulted and checked once.
type Settings struct {
	// ExpireAfter is the default freshness lifetime of a stored response.
	ExpireAfter Expiration `toml:"expire_after"`
	// CacheControl makes response Cache-Control and Expires headers decide
	// freshness ahead of every other setting.
	CacheControl bool `toml:"cache_control"`
	// AllowableCodes lists the status codes that are stored.
	AllowableCodes []int `toml:"allowable_codes"`
	// AllowableMethods lists the request methods whose responses are stored.
	AllowableMethods []string `toml:"allowable_methods"`
	// AlwaysRevalidate makes every use of an entry with a validator a
	// conditional request.
	AlwaysRevalidate bool `toml:"always_revalidate"`
	// IgnoredParameters are query parameters, headers and body fields left
	// out of cache keys and stored as REDACTED.
	IgnoredParameters []string `toml:"ignored_parameters"`
	// MatchHeaders adds request headers to the cache key.
	MatchHeaders MatchHeaders `toml:"match_headers"`
	// StaleIfError answers with an expired entry when the origin fails.
	StaleIfError StaleLimit `toml:"stale_if_error"`
	// StaleWhileRevalidate answers with an expired entry at once and
	// refreshes it in the background.
	StaleWhileRevalidate StaleLimit `toml:"stale_while_revalidate"`
	// HeuristicFreshness, with CacheControl, keeps a response that has a
	// Last-Modified and no explicit lifetime fresh for 10% of its age when
	// received, at most Max (RFC 9111 §4.2.2); it yields to WithExpireAfter
	// and urls_expire_after and takes precedence over expire_after.
	HeuristicFreshness StaleLimit `toml:"heuristic_freshness"`
	// ReadOnly serves from the cache but never writes to it.
	ReadOnly bool `toml:"read_only"`
	// MaxBodyBytes is the largest body stored; larger bodies stream through.
	MaxBodyBytes int64 `toml:"max_body_bytes"`
	// SeparateCredentials keeps requests with different credentials from
	// sharing an entry.
	SeparateCredentials bool `toml:"separate_credentials"`
	// OnlyIfCached answers every request from the cache, or with a 504
	// when nothing usable is stored (an expired entry only where stale use
	// is allowed): the origin is never contacted (requests-cache's
	// only_if_cached; for tests and offline work).
	OnlyIfCached bool `toml:"only_if_cached"`
	// Disabled neither reads nor writes the cache (requests-cache's
	// disabled). The context helpers win over both: Enabled(ctx) uses the
	// cache even so.
	Disabled bool `toml:"disabled"`
	// URLsExpireAfter sets expiration per URL glob; the first match in file
	// order wins.
	URLsExpireAfter []URLExpiration `toml:"urls_expire_after"`
}

// MaxBodyBytesLimit is the largest max_body_bytes: a body is kept in one
// piece of memory, its base64 form on one line of an export, and MongoDB
// reads no larger one back.
const MaxBodyBytesLimit = 16 << 30

// Clone returns a deep copy of s, so that later edits of either copy's
// lists do not reach the other.
func (s Settings) Clone() Settings {
	s.URLsExpireAfter = append([]URLExpiration(nil), s.URLsExpireAfter...)
	s.AllowableCodes = append([]int(nil), s.AllowableCodes...)
	s.AllowableMethods = append([]string(nil), s.AllowableMethods...)
	s.IgnoredParameters = append([]string(nil), s.IgnoredParameters...)
	s.MatchHeaders.Names = append([]string(nil), s.MatchHeaders.Names...)
	return s
}

// Validate checks s as Load checks the same keys in a file and returns the
// first problem as an *Error naming the key. It does not modify s.
func (s *Settings) Validate() error {
	if ps := s.problems(nil); len(ps) > 0 {
		return ps[0]
	}
	return nil
}

// problems appends everything wrong with s to ps, in schema order.
func (s *Settings) problems(ps []*Error) []*Error {
	add := func(key, format string, args ...any) {
		ps = append(ps, keyError(key, format, args...))
	}
	if err := checkExpiration(s.ExpireAfter); err != nil {
		add("expire_after", "%v", err)
	}

	if len(s.AllowableCodes) == 0 {
		add("allowable_codes", "empty: list the status codes to store, such as [200]")
	}
	for i, code := range s.AllowableCodes {
		if code < 100 || code > 599 {
			add(indexKey("allowable_codes", i), "%d is not an HTTP status code (want 100 to 599)", code)
		}
	}
	if len(s.AllowableMethods) == 0 {
		add("allowable_methods", "empty: list the methods to store, such as [\"GET\", \"HEAD\"]")
	}
	for i, m := range s.AllowableMethods {
		if !isToken(m) {
			add(indexKey("allowable_methods", i), "%q is not an HTTP method", m)
		}
	}
	for i, p := range s.IgnoredParameters {
		if strings.TrimSpace(p) == "" {
			add(indexKey("ignored_parameters", i), "empty name")
		}
	}

	if s.MatchHeaders.All && len(s.MatchHeaders.Names) > 0 {
		add("match_headers", "both true (every header) and a list of names")
	}
	for i, h := range s.MatchHeaders.Names {
		if !isToken(h) {
			add(indexKey("match_headers", i), "%q is not a header name", h)
		}
	}
	for _, stale := range []struct {
		key string
		v   StaleLimit
	}{{"stale_if_error", s.StaleIfError}, {"stale_while_revalidate", s.StaleWhileRevalidate}, {"heuristic_freshness", s.HeuristicFreshness}} {
		switch {
		case stale.v.Max < 0:
			add(stale.key, "negative duration %s", stale.v.Max)
		case stale.v.Max > 0 && !stale.v.Enabled:
			add(stale.key, "a duration (%s) but not enabled: set Enabled too", stale.v.Max)
		}
	}
	if s.MaxBodyBytes <= 0 || s.MaxBodyBytes > MaxBodyBytesLimit {
		add("max_body_bytes", "must be between 1 and %d (16 GiB), got %d", int64(MaxBodyBytesLimit), s.MaxBodyBytes)
	}

	for i, u := range s.URLsExpireAfter {
		key := indexKey("urls_expire_after", i)
		switch {
		case u.Regex != "" && u.Pattern != "":
			add(joinKey(key, "regex"), "both a pattern and a regex: give one")
		case u.Regex != "":
			if _, err := regexp.Compile(u.Regex); err != nil {
				add(joinKey(key, "regex"), "%v", err)
			}
		default:
			if err := ValidatePattern(u.Pattern); err != nil {
				add(joinKey(key, "pattern"), "%v", err)
			}
		}
		if !u.ExpireAfter.IsSet() {
			add(joinKey(key, "expire_after"), "missing: every [[urls_expire_after]] needs a pattern (or regex) and an expire_after")
		} else if err := checkExpiration(u.ExpireAfter); err != nil {
			add(joinKey(key, "expire_after"), "%v", err)
		}
	}
	return ps
}
