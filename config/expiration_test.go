package config_test

import (
	"testing"
	"time"

	"github.com/reqcache/reqcache/config"
)

func TestParseExpiration(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in      string
		kind    config.ExpirationKind
		expires time.Time
		cache   bool
	}{
		{"never", config.Never, time.Time{}, true},
		{"immediately", config.Immediately, now, true},
		{"do_not_cache", config.NoCache, time.Time{}, false},
		{"90s", config.AfterDuration, now.Add(90 * time.Second), true},
		{"60", config.AfterDuration, now.Add(time.Minute), true},
		{"0", config.Immediately, now, true},
		{"-1", config.Never, time.Time{}, true},
		{"2026-06-01T00:00:00Z", config.AtTime, time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), true},
	} {
		e, err := config.ParseExpiration(tc.in)
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		exp, cache := e.ExpiresAt(now)
		if e.Kind() != tc.kind || !exp.Equal(tc.expires) || cache != tc.cache {
			t.Errorf("%q: kind %v expires %v cache %v", tc.in, e.Kind(), exp, cache)
		}
	}
	for _, bad := range []string{"", "soon", "-5", "-3s", "5 minutes", "99999999999999999999"} {
		if _, err := config.ParseExpiration(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if config.After(0) != config.ExpireImmediately {
		t.Error("After(0) must be ExpireImmediately")
	}
}
