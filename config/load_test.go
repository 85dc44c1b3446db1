package config_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/reqcache/reqcache/config"
)

func TestLoadEveryKey(t *testing.T) {
	c, err := config.Load("testdata/full.toml")
	if err != nil {
		t.Fatal(err)
	}
	want := &config.Config{
		Backend: "tiered",
		Settings: config.Settings{
			ExpireAfter:          config.After(90 * time.Minute),
			CacheControl:         false,
			AllowableCodes:       []int{200, 203, 301, 404},
			AllowableMethods:     []string{"GET", "HEAD", "POST"},
			AlwaysRevalidate:     true,
			IgnoredParameters:    []string{"Authorization", "api_key"},
			MatchHeaders:         config.MatchHeaders{Names: []string{"Accept", "Accept-Language"}},
			StaleIfError:         config.StaleLimit{Enabled: true, Max: 10 * time.Minute},
			StaleWhileRevalidate: config.StaleLimit{Enabled: true},
			ReadOnly:             true,
			MaxBodyBytes:         1 << 20,
			SeparateCredentials:  false,
			OnlyIfCached:         true,
			Disabled:             true,
			URLsExpireAfter: []config.URLExpiration{
				{Pattern: "api.example.com/v1/*", ExpireAfter: config.After(5 * time.Minute)},
				{Pattern: "https://static.example.com", ExpireAfter: config.NeverExpire},
				{Regex: `^https://cdn\.example\.com/v[0-9]+/`, ExpireAfter: config.After(time.Hour)},
				{Pattern: "*", ExpireAfter: config.DoNotCache},
			},
		},
		Memory: config.Memory{MaxSizeMB: 64, Shards: 16, MaxAge: config.Duration(30 * time.Second),
			Snapshot: "/var/cache/reqcache.snapshot", SnapshotInterval: config.Duration(5 * time.Minute), InvalidationPoll: config.Duration(2 * time.Second)},
		Mongo: config.Mongo{
			URI:            "mongodb://reqcache:s3cret@db.example.com:27017/?replicaSet=rs0",
			Database:       "cache_db",
			Collection:     "http",
			ConnectTimeout: config.Duration(10 * time.Second),
			OpTimeout:      config.Duration(3 * time.Second),
			MaxPoolSize:    20,
			Retention:      config.Duration(168 * time.Hour),
			SweepInterval:  config.Duration(time.Hour),
			Lease:          config.Duration(30 * time.Second),
			Compress:       "none",
		},
		Logging:    config.Logging{Level: "debug", Format: "json", Configured: true},
		Encryption: config.Encryption{KeyEnv: "REQCACHE_KEYS", KeyFile: "/etc/reqcache/keys"},
		Source:     "testdata/full.toml",
	}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("Load(full.toml) =\n%+v\nwant\n%+v", c, want)
	}
}

func TestDefaultMatchesDesign(t *testing.T) {
	c := config.Default()
	if c.Backend != "memory" || c.ExpireAfter != config.NeverExpire || !c.CacheControl || // cache_control on: a global patch honours no-store (issue 29)
		!reflect.DeepEqual(c.AllowableCodes, []int{200}) ||
		!reflect.DeepEqual(c.AllowableMethods, []string{"GET", "HEAD"}) ||
		c.MaxBodyBytes != 16777216 || !c.SeparateCredentials || c.ReadOnly ||
		c.Memory.MaxSizeMB != 256 || c.Memory.Shards != 256 ||
		c.Mongo.URI != "mongodb://127.0.0.1:27017" || c.Mongo.Database != "http_cache" ||
		c.Mongo.Collection != "responses" || c.Mongo.ConnectTimeout.Std() != 5*time.Second ||
		c.Mongo.OpTimeout.Std() != 2*time.Second || c.Mongo.MaxPoolSize != 100 ||
		c.Logging.Level != "warn" || c.Logging.Format != "console" || c.Logging.Configured ||
		len(c.IgnoredParameters) != 9 {
		t.Fatalf("Default() = %+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("Default() does not validate: %v", err)
	}
}

func TestExpireAfterForms(t *testing.T) {
	for _, tc := range []struct {
		toml string
		want config.Expiration
	}{
		{`"never"`, config.NeverExpire},
		{`-1`, config.NeverExpire},
		{`"immediately"`, config.ExpireImmediately},
		{`0`, config.ExpireImmediately},
		{`"do_not_cache"`, config.DoNotCache},
		{`"90s"`, config.After(90 * time.Second)},
		{`"1h30m"`, config.After(90 * time.Minute)},
		{`3600`, config.After(time.Hour)},
		{`"2027-01-02T03:04:05Z"`, config.At(time.Date(2027, 1, 2, 3, 4, 5, 0, time.UTC))},
	} {
		c, err := config.Parse("x.toml", []byte("expire_after = "+tc.toml+"\n"))
		if err != nil {
			t.Errorf("%s: %v", tc.toml, err)
			continue
		}
		if c.ExpireAfter.String() != tc.want.String() || c.ExpireAfter.Kind() != tc.want.Kind() {
			t.Errorf("%s: got %v want %v", tc.toml, c.ExpireAfter, tc.want)
		}
	}
}

func TestErrorsNameFileLineAndKey(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		line       int
		key        string
		contains   string
	}{
		{"bad duration", "backend = \"memory\"\nexpire_after = \"5 minutes\"\n", 2, "expire_after", "5 minutes"},
		{"unknown key", "backend = \"memory\"\n\nexpire_afterr = \"5m\"\n", 3, "expire_afterr", "unknown"},
		{"unknown backend", "backend = \"redis\"\n", 1, "backend", "redis"},
		{"wrong type", "cache_control = \"yes\"\n", 1, "cache_control", ""},
		{"empty methods", "allowable_methods = []\n", 1, "allowable_methods", "empty"},
		{"bad method", "allowable_methods = [\"GET\", \"BAD METHOD\"]\n", 1, "allowable_methods[1]", "BAD METHOD"},
		{"bad status", "allowable_codes = [200, 999]\n", 1, "allowable_codes[1]", "999"},
		{"unknown key in mongo", "[mongo]\nuri = \"mongodb://h\"\ntimeout = \"1s\"\n", 3, "mongo.timeout", "unknown"},
		{"bad mongo duration", "[mongo]\nop_timeout = \"fast\"\n", 2, "mongo.op_timeout", "fast"},
		{"unknown key in urls", "[[urls_expire_after]]\npattern = \"a/*\"\nexpire_after = \"1m\"\n\n[[urls_expire_after]]\npatern = \"b\"\n", 6, "urls_expire_after[1].patern", "unknown"},
		{"bad url expiration", "[[urls_expire_after]]\npattern = \"a/*\"\nexpire_after = \"sometimes\"\n", 3, "urls_expire_after[0].expire_after", "sometimes"},
		{"bad url regex", "[[urls_expire_after]]\nregex = \"api(\"\nexpire_after = \"1m\"\n", 2, "urls_expire_after[0].regex", "missing closing )"},
		{"pattern and regex", "[[urls_expire_after]]\npattern = \"a/*\"\nregex = \"a\"\nexpire_after = \"1m\"\n", 3, "urls_expire_after[0].regex", "give one"},
		{"shards not power of two", "[memory]\nshards = 3\n", 2, "memory.shards", ""},
		{"negative invalidation poll", "[memory]\ninvalidation_poll = \"-1s\"\n", 2, "memory.invalidation_poll", "negative"},
		{"bad log level", "[logging]\nlevel = \"loud\"\n", 2, "logging.level", "loud"},
		{"match_headers type", "match_headers = 3\n", 1, "match_headers", ""},
		{"stale_if_error type", "stale_if_error = \"often\"\n", 1, "stale_if_error", ""},
		{"negative body size", "max_body_bytes = -1\n", 1, "max_body_bytes", ""},
		{"a body size no code handles", "max_body_bytes = 9223372036854775807\n", 1, "max_body_bytes", "16 GiB"},
		{"syntax error", "backend = \"memory\"\nexpire_after = \n", 2, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "reqcache.toml")
			if err := os.WriteFile(path, []byte(tc.body), 0o600); err != nil {
				t.Fatal(err)
			}
			c, err := config.Load(path)
			if err == nil {
				t.Fatalf("accepted: %+v", c)
			}
			var ce *config.Error
			if !errors.As(err, &ce) {
				t.Fatalf("error %T is not a *config.Error: %v", err, err)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, fmt.Sprintf("%s:%d: ", path, tc.line)) {
				t.Fatalf("message %q does not start with file:line %d", msg, tc.line)
			}
			if tc.key != "" && (ce.Key != tc.key || !strings.Contains(msg, tc.key)) {
				t.Fatalf("key %q, want %q (%s)", ce.Key, tc.key, msg)
			}
			if tc.contains != "" && !strings.Contains(msg, tc.contains) {
				t.Fatalf("message %q lacks %q", msg, tc.contains)
			}
		})
	}
}

func TestMongoURIExpansion(t *testing.T) {
	t.Setenv("REQCACHE_TEST_PW", "p@ss")
	c, err := config.Parse("x.toml", []byte("[mongo]\nuri = \"mongodb://u:${REQCACHE_TEST_PW}@h:27017\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Mongo.URI != "mongodb://u:p@ss@h:27017" {
		t.Fatalf("uri %q", c.Mongo.URI)
	}
	_, err = config.Parse("x.toml", []byte("\n[mongo]\nuri = \"mongodb://${REQCACHE_SURELY_UNSET_VAR}\"\n"))
	if err == nil || !strings.Contains(err.Error(), "REQCACHE_SURELY_UNSET_VAR") || !strings.HasPrefix(err.Error(), "x.toml:3: mongo.uri") {
		t.Fatalf("unset variable: %v", err)
	}
}

func TestMissingFile(t *testing.T) {
	_, err := config.Load(filepath.Join(t.TempDir(), "nope.toml"))
	if err == nil || !strings.Contains(err.Error(), "nope.toml") {
		t.Fatalf("missing file: %v", err)
	}
}

func TestValidateInCode(t *testing.T) {
	c := config.Default()
	c.AllowableCodes = []int{42}
	err := c.Validate()
	if err == nil || !strings.Contains(err.Error(), "allowable_codes") {
		t.Fatalf("Validate: %v", err)
	}
}

func TestLoggingTableSetsConfigured(t *testing.T) {
	c, err := config.Parse("x.toml", []byte("backend = \"memory\"\n"))
	if err != nil || c.Logging.Configured {
		t.Fatalf("no [logging]: %v %+v", err, c.Logging)
	}
	c, err = config.Parse("x.toml", []byte("[logging]\nlevel = \"info\"\n"))
	if err != nil || !c.Logging.Configured || c.Logging.Level != "info" {
		t.Fatalf("[logging]: %v %+v", err, c.Logging)
	}
}

func ExampleLoad() {
	dir, _ := os.MkdirTemp("", "reqcache")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "reqcache.toml")
	os.WriteFile(path, []byte("expire_after = \"5m\"\n\n[[urls_expire_after]]\npattern = \"api.example.com/v1\"\nexpire_after = \"never\"\n"), 0o600)
	cfg, err := config.Load(path)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(cfg.ExpireAfter, cfg.URLsExpireAfter[0].ExpireAfter, cfg.Backend)

	os.WriteFile(path, []byte("backend = \"memory\"\nexpire_after = \"5 minutes\"\n"), 0o600)
	_, err = config.Load(path)
	fmt.Println(strings.TrimPrefix(err.Error(), dir+string(filepath.Separator))[:45])
	// Output:
	// 5m0s never memory
	// reqcache.toml:2: expire_after: bad expiration
}

func FuzzLoad(f *testing.F) {
	for _, name := range []string{"testdata/full.toml", "testdata/example.toml"} {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("expire_after = 3\n[memory]\nshards = 4\n"))
	f.Add([]byte("[[urls_expire_after]]\npattern = \"*\"\nexpire_after = -1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := config.Parse("fuzz.toml", data)
		if err == nil {
			if verr := c.Validate(); verr != nil {
				t.Fatalf("Parse accepted what Validate rejects: %v", verr)
			}
		}
	})
}
