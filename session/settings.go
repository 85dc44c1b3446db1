package session

import (
	"net/http"
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
	urls    rules.URLRules
	// rules are the settings the rules read (internal/rules), compiled
	// with the rest.
	rules *rules.Settings
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
	p.urls = rules.CompileURLRules(s.URLsExpireAfter)
	p.keys = cachekey.New(s.IgnoredParameters, s.MatchHeaders.All, s.MatchHeaders.Names)
	return p, nil
}

// urlExpiration returns the first urls_expire_after match for req.
func (p *policy) urlExpiration(req *http.Request) (config.Expiration, bool) {
	return p.urls.Expiration(req.URL)
}
