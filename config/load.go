package config

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"reflect"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"
)

// Load reads the TOML file at path over Default: keys the file leaves out
// keep their default values, lists in the file replace the default lists.
//
// Load is strict. Unknown keys, values of the wrong type, bad durations and
// expirations, an unknown backend, an empty or invalid method list, status
// codes outside 100..599, ${VAR} references to unset variables in mongo.uri
// and every other check of Validate are errors. Every error is an *Error
// whose message names the file, the line and the key:
//
//	reqcache.toml:7: expire_after: bad expiration "5 minutes": ...
//
// When a file has several problems, the first in file order is reported.
//
// The result has Source set to path, AllowableMethods in upper case,
// Logging.Level and Logging.Format in lower case, "${VAR}" and "$VAR" in
// mongo.uri replaced by the environment ("$$" is a literal "$"), and
// Logging.Configured set when the file has a [logging] table.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the path is already in the message
		}
		return nil, &Error{File: path, Err: err}
	}
	return parse(path, data, os.LookupEnv)
}

// Parse is Load for a configuration already in memory: name stands for the
// file in error messages and in Source.
func Parse(name string, data []byte) (*Config, error) {
	return parse(name, data, os.LookupEnv)
}

func parse(name string, data []byte, lookupEnv func(string) (string, bool)) (*Config, error) {
	text := string(data)
	raw := map[string]any{}
	if _, err := toml.Decode(text, &raw); err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, &Error{File: name, Line: pe.Position.Line, Key: pe.LastKey, Err: errors.New(pe.Message)}
		}
		return nil, &Error{File: name, Err: err}
	}

	ix := indexLines(text)
	d := &decoder{ix: ix}
	c := Default()
	c.Source = name
	d.top(raw, c)
	if m, ok := raw["mongo"].(map[string]any); ok {
		if _, ok := m["uri"].(string); ok {
			uri, err := expandEnv(c.Mongo.URI, lookupEnv)
			if err != nil {
				d.fail("mongo.uri", "%v", err)
			} else {
				c.Mongo.URI = uri
			}
		}
	}

	// Type and key errors come first: they are the more specific, and a
	// half-decoded file would add spurious semantic ones.
	errs := d.errs
	if len(errs) == 0 {
		errs = c.problems()
	}
	if len(errs) == 0 {
		return c, nil
	}
	for _, e := range errs {
		e.File = name
		e.Line = ix.lineOf(e.Key)
	}
	sort.SliceStable(errs, func(i, j int) bool {
		li, lj := errs[i].Line, errs[j].Line
		if li == 0 || lj == 0 {
			return li != 0 && lj == 0
		}
		return li < lj
	})
	return nil, errs[0]
}

// decoder overlays the parsed TOML tree on a Config, checking every key and
// type. It goes on after a problem so that the first one in file order can
// be reported.
type decoder struct {
	ix   lineIndex
	errs []*Error
}

func (d *decoder) fail(key, format string, args ...any) {
	d.errs = append(d.errs, keyError(key, format, args...))
}

// The keys of each table, read from the schema's struct tags, so that the
// keys unknown-key errors suggest can never drift from the schema.
var (
	topKeys     = keysOf(Config{})
	urlKeys     = keysOf(URLExpiration{})
	memoryKeys  = keysOf(Memory{})
	mongoKeys   = keysOf(Mongo{})
	loggingKeys = keysOf(Logging{})
)

// keysOf lists the toml tags of a schema struct's fields, in field order.
func keysOf(v any) []string {
	t := reflect.TypeOf(v)
	var keys []string
	for i := 0; i < t.NumField(); i++ {
		if tag := t.Field(i).Tag.Get("toml"); tag != "" && tag != "-" {
			keys = append(keys, tag)
		}
	}
	return keys
}

func (d *decoder) top(raw map[string]any, c *Config) {
	for _, k := range d.sorted("", raw) {
		key, v := joinKey("", k), raw[k]
		switch k {
		case "backend":
			d.str(key, v, &c.Backend)
		case "expire_after":
			d.unmarshal(key, v, &c.ExpireAfter)
		case "cache_control":
			d.boolean(key, v, &c.CacheControl)
		case "allowable_codes":
			d.ints(key, v, &c.AllowableCodes)
		case "allowable_methods":
			if d.strs(key, v, &c.AllowableMethods) {
				for i, m := range c.AllowableMethods {
					c.AllowableMethods[i] = strings.ToUpper(m)
				}
			}
		case "always_revalidate":
			d.boolean(key, v, &c.AlwaysRevalidate)
		case "ignored_parameters":
			d.strs(key, v, &c.IgnoredParameters)
		case "match_headers":
			d.unmarshal(key, v, &c.MatchHeaders)
		case "stale_if_error":
			d.unmarshal(key, v, &c.StaleIfError)
		case "stale_while_revalidate":
			d.unmarshal(key, v, &c.StaleWhileRevalidate)
		case "read_only":
			d.boolean(key, v, &c.ReadOnly)
		case "max_body_bytes":
			d.integer(key, v, &c.MaxBodyBytes)
		case "separate_credentials":
			d.boolean(key, v, &c.SeparateCredentials)
		case "only_if_cached":
			d.boolean(key, v, &c.OnlyIfCached)
		case "disabled":
			d.boolean(key, v, &c.Disabled)
		case "urls_expire_after":
			d.urls(key, v, c)
		case "memory":
			if t, ok := d.table(key, v); ok {
				d.memory(key, t, &c.Memory)
			}
		case "mongo":
			if t, ok := d.table(key, v); ok {
				d.mongo(key, t, &c.Mongo)
			}
		case "logging":
			if t, ok := d.table(key, v); ok {
				c.Logging.Configured = true
				d.logging(key, t, &c.Logging)
			}
		default:
			d.unknown(key, k, topKeys)
		}
	}
}

func (d *decoder) urls(key string, v any, c *Config) {
	var tables []map[string]any
	switch v := v.(type) {
	case []map[string]any: // [[urls_expire_after]]
		tables = v
	case []any: // urls_expire_after = [{...}, {...}]
		for i, el := range v {
			t, ok := el.(map[string]any)
			if !ok {
				d.fail(indexKey(key, i), "want a table with pattern and expire_after, got %s", describe(el))
				return
			}
			tables = append(tables, t)
		}
	default:
		d.fail(key, "want [[urls_expire_after]] tables, got %s", describe(v))
		return
	}
	out := make([]URLExpiration, len(tables))
	for i, t := range tables {
		ekey := indexKey(key, i)
		for _, k := range d.sorted(ekey, t) {
			fkey, fv := joinKey(ekey, k), t[k]
			switch k {
			case "pattern":
				d.str(fkey, fv, &out[i].Pattern)
			case "expire_after":
				d.unmarshal(fkey, fv, &out[i].ExpireAfter)
			default:
				d.unknown(fkey, k, urlKeys)
			}
		}
	}
	c.URLsExpireAfter = out
}

func (d *decoder) memory(key string, t map[string]any, m *Memory) {
	for _, k := range d.sorted(key, t) {
		fkey, v := joinKey(key, k), t[k]
		switch k {
		case "max_size_mb":
			d.integer(fkey, v, &m.MaxSizeMB)
		case "shards":
			d.integer(fkey, v, &m.Shards)
		case "max_age":
			d.unmarshal(fkey, v, &m.MaxAge)
		case "snapshot":
			d.str(fkey, v, &m.Snapshot)
		case "snapshot_interval":
			d.unmarshal(fkey, v, &m.SnapshotInterval)
		default:
			d.unknown(fkey, k, memoryKeys)
		}
	}
}

func (d *decoder) mongo(key string, t map[string]any, m *Mongo) {
	for _, k := range d.sorted(key, t) {
		fkey, v := joinKey(key, k), t[k]
		switch k {
		case "uri":
			d.str(fkey, v, &m.URI)
		case "database":
			d.str(fkey, v, &m.Database)
		case "collection":
			d.str(fkey, v, &m.Collection)
		case "connect_timeout":
			d.unmarshal(fkey, v, &m.ConnectTimeout)
		case "op_timeout":
			d.unmarshal(fkey, v, &m.OpTimeout)
		case "max_pool_size":
			d.integer(fkey, v, &m.MaxPoolSize)
		case "retention":
			d.unmarshal(fkey, v, &m.Retention)
		case "compress":
			d.str(fkey, v, &m.Compress)
		default:
			d.unknown(fkey, k, mongoKeys)
		}
	}
}

func (d *decoder) logging(key string, t map[string]any, l *Logging) {
	for _, k := range d.sorted(key, t) {
		fkey, v := joinKey(key, k), t[k]
		switch k {
		case "level":
			if d.str(fkey, v, &l.Level) {
				l.Level = strings.ToLower(strings.TrimSpace(l.Level))
			}
		case "format":
			if d.str(fkey, v, &l.Format) {
				l.Format = strings.ToLower(strings.TrimSpace(l.Format))
			}
		default:
			d.unknown(fkey, k, loggingKeys)
		}
	}
}

// sorted returns the keys of t in file order.
func (d *decoder) sorted(parent string, t map[string]any) []string {
	keys := make([]string, 0, len(t))
	for k := range t {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		li, lj := d.ix[joinKey(parent, keys[i])], d.ix[joinKey(parent, keys[j])]
		if li != lj {
			return li < lj
		}
		return keys[i] < keys[j]
	})
	return keys
}

func (d *decoder) unknown(key, name string, known []string) {
	if s := suggest(name, known); s != "" {
		d.fail(key, "unknown key (did you mean %q?)", s)
		return
	}
	d.fail(key, "unknown key (known here: %s)", strings.Join(known, ", "))
}

func (d *decoder) table(key string, v any) (map[string]any, bool) {
	t, ok := v.(map[string]any)
	if !ok {
		d.fail(key, "want a table, got %s", describe(v))
	}
	return t, ok
}

func (d *decoder) str(key string, v any, dst *string) bool {
	s, ok := v.(string)
	if !ok {
		d.fail(key, "want a string, got %s", describe(v))
		return false
	}
	*dst = s
	return true
}

func (d *decoder) boolean(key string, v any, dst *bool) {
	b, ok := v.(bool)
	if !ok {
		d.fail(key, "want true or false, got %s", describe(v))
		return
	}
	*dst = b
}

// integer decodes a TOML integer into an int or int64 field, refusing
// values that do not fit.
func (d *decoder) integer(key string, v any, dst any) bool {
	n, ok := v.(int64)
	if !ok {
		d.fail(key, "want an integer, got %s", describe(v))
		return false
	}
	switch dst := dst.(type) {
	case *int64:
		*dst = n
	case *int:
		if n < math.MinInt || n > math.MaxInt {
			d.fail(key, "integer %d is out of range", n)
			return false
		}
		*dst = int(n)
	}
	return true
}

func (d *decoder) ints(key string, v any, dst *[]int) {
	arr, ok := v.([]any)
	if !ok {
		d.fail(key, "want a list of integers, got %s", describe(v))
		return
	}
	out := make([]int, 0, len(arr))
	for i, el := range arr {
		var n int
		if !d.integer(indexKey(key, i), el, &n) {
			return
		}
		out = append(out, n)
	}
	*dst = out
}

func (d *decoder) strs(key string, v any, dst *[]string) bool {
	arr, ok := v.([]any)
	if !ok {
		d.fail(key, "want a list of strings, got %s", describe(v))
		return false
	}
	out := make([]string, 0, len(arr))
	for i, el := range arr {
		s, ok := el.(string)
		if !ok {
			d.fail(indexKey(key, i), "want a string, got %s", describe(el))
			return false
		}
		out = append(out, s)
	}
	*dst = out
	return true
}

// unmarshal decodes v with dst's UnmarshalTOML, naming the element's key
// when the problem is inside a list.
func (d *decoder) unmarshal(key string, v any, dst toml.Unmarshaler) {
	if err := dst.UnmarshalTOML(v); err != nil {
		k, err := splitElemError(key, err)
		d.errs = append(d.errs, &Error{Key: k, Err: err})
	}
}

// suggest returns the known key closest to name, when it is close enough
// to be a typo.
func suggest(name string, known []string) string {
	best, bestDist := "", 3
	for _, k := range known {
		if dist := editDistance(strings.ToLower(name), k); dist < bestDist {
			best, bestDist = k, dist
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return math.MaxInt
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// expandEnv replaces ${NAME} and $NAME in s with the environment; $$ is a
// literal $, and a $ before anything else is kept. An unset variable is an
// error naming it. Errors never repeat s, which may hold a password.
func expandEnv(s string, lookup func(string) (string, bool)) (string, error) {
	if !strings.Contains(s, "$") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		var name string
		switch next := s[i+1]; {
		case next == '$':
			b.WriteByte('$')
			i++
			continue
		case next == '{':
			end := strings.IndexByte(s[i+2:], '}')
			if end < 0 {
				return "", errors.New("unclosed ${ in the connection string")
			}
			name = s[i+2 : i+2+end]
			if !isEnvName(name) {
				return "", fmt.Errorf("bad variable name %q in ${...}", name)
			}
			i += 2 + end
		case isEnvStart(next):
			j := i + 1
			for j < len(s) && (isEnvStart(s[j]) || s[j] >= '0' && s[j] <= '9') {
				j++
			}
			name = s[i+1 : j]
			i = j - 1
		default:
			b.WriteByte('$')
			continue
		}
		val, ok := lookup(name)
		if !ok {
			return "", fmt.Errorf("environment variable %s is not set", name)
		}
		b.WriteString(val)
	}
	return b.String(), nil
}

func isEnvStart(c byte) bool { return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func isEnvName(name string) bool {
	if name == "" || !isEnvStart(name[0]) {
		return false
	}
	for i := 1; i < len(name); i++ {
		if c := name[i]; !isEnvStart(c) && !(c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}
