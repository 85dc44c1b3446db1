package session

import (
	"net/http"
	"strings"

	"github.com/reqcache/reqcache/config"
	"github.com/reqcache/reqcache/internal/cachekey"
	"github.com/reqcache/reqcache/internal/rules"
	"github.com/reqcache/reqcache/stores"
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

// requestExpiration is the expiration chosen before the response is known:
// WithExpireAfter, then urls_expire_after, then expire_after, and the
// setting it came from. written reports a lifetime the user wrote, which
// heuristic freshness yields to: any of the first two, and an expire_after
// that is a duration or a time. expire_after "never" (the default) and
// "immediately" say what becomes of a response with no lifetime at all, so
// the guess comes first: with "immediately", a cache behaves as RFC 9111
// describes. The response's own headers, the request's Cache-Control and
// heuristic freshness come after (rules.NewResponse).
func (p *policy) requestExpiration(req *http.Request, expireAfter config.Expiration) (exp config.Expiration, written bool, from stores.Lifetime) {
	if expireAfter.IsSet() {
		return expireAfter, true, stores.LifetimeOption
	}
	if e, ok := p.urls.Expiration(req.URL); ok {
		return e, true, stores.LifetimeURLRule
	}
	if p.ExpireAfter.IsSet() {
		k := p.ExpireAfter.Kind()
		return p.ExpireAfter, k == config.AfterDuration || k == config.AtTime, stores.LifetimeExpireAfter
	}
	return config.NeverExpire, false, stores.LifetimeExpireAfter
}
