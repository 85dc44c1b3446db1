package session

import (
	"net/http"
	"path"
	"regexp"
	"strings"

	"github.com/reqcache/reqcache/config"
	"github.com/reqcache/reqcache/internal/cachekey"
	"github.com/reqcache/reqcache/internal/rules"
)

// Settings are the cache behaviours that can change while a session runs
// (requests-cache's CachedSession.settings). The backend cannot: it is
// chosen when the session is created. They are declared, defaulted and
// checked in package config, beside their TOML keys.
type Settings = config.Settings

// SettingsFrom takes the runtime settings out of a configuration.
func SettingsFrom(c *config.Config) Settings { return c.Settings.Clone() }

// policy is a compiled, immutable Settings: sets instead of lists, patterns
// split once. A session swaps whole policies atomically.
type policy struct {
	Settings
	methods map[string]bool
	keys    *cachekey.Keyer
	urls    []urlPattern
	// rules are the settings the rules read (internal/rules), compiled
	// with the rest.
	rules *rules.Settings
}

type urlPattern struct {
	glob   string         // scheme stripped, lower case, trailing * implied
	re     *regexp.Regexp // instead of glob: searched in the whole URL
	expire config.Expiration
}

// compile validates s (config owns every check of a setting) and compiles
// it.
func compile(s Settings) (*policy, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	s = s.Clone()
	p := &policy{Settings: s, methods: map[string]bool{}, rules: rules.Compile(&s)}
	for _, m := range s.AllowableMethods {
		p.methods[strings.ToUpper(m)] = true
	}
	for _, u := range s.URLsExpireAfter {
		up := urlPattern{expire: u.ExpireAfter}
		if u.Regex != "" {
			up.re = regexp.MustCompile(u.Regex) // config checked it
		} else {
			up.glob = compilePattern(u.Pattern)
		}
		p.urls = append(p.urls, up)
	}
	p.keys = cachekey.New(s.IgnoredParameters, s.MatchHeaders.All, s.MatchHeaders.Names)
	return p, nil
}

// compilePattern turns a urls_expire_after pattern (valid: config checked
// it) into the glob matched against host and path: the scheme is ignored
// and a trailing * implied, as in requests-cache; * matches across "/".
func compilePattern(pattern string) string {
	p := pattern
	if i := strings.Index(p, "://"); i >= 0 {
		p = p[i+3:]
	}
	glob := strings.ToLower(p)
	if !strings.HasSuffix(glob, "*") {
		glob += "*"
	}
	return glob
}

// globMatch is fnmatch: * matches any run of characters ("/" included), ?
// any one character, [...] a class (path.Match syntax).
func globMatch(pattern, s string) (bool, error) {
	first, rest, star := strings.Cut(pattern, "*")
	if !star {
		return path.Match(pattern, s)
	}
	// Validate the whole pattern once, whatever s is.
	if _, err := path.Match(strings.ReplaceAll(pattern, "*", ""), ""); err != nil {
		return false, err
	}
	for i := 0; i <= len(s); i++ {
		if ok, _ := path.Match(first, s[:i]); !ok {
			continue
		}
		if rest == "" {
			return true, nil
		}
		for j := i; j <= len(s); j++ {
			if ok, _ := globMatch(rest, s[j:]); ok {
				return true, nil
			}
		}
		return false, nil
	}
	return false, nil
}

// urlExpiration returns the first urls_expire_after match for req.
func (p *policy) urlExpiration(req *http.Request) (config.Expiration, bool) {
	if len(p.urls) == 0 || req.URL == nil {
		return config.Expiration{}, false
	}
	target := strings.ToLower(req.URL.Host) + req.URL.EscapedPath()
	if req.URL.RawQuery != "" {
		target += "?" + req.URL.RawQuery
	}
	for _, u := range p.urls {
		if u.re != nil {
			if u.re.MatchString(strings.ToLower(req.URL.Scheme) + "://" + target) {
				return u.expire, true
			}
		} else if ok, _ := globMatch(u.glob, target); ok {
			return u.expire, true
		}
	}
	return config.Expiration{}, false
}
