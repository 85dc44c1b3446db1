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
	d.table("", raw, reflect.ValueOf(c).Elem())
	d.normalize(raw, c, lookupEnv)

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

// decoder overlays the parsed TOML tree on a Config by walking the schema:
// every key is matched to the struct field with that toml tag, and every
// field decodes by its Go type, or by its own UnmarshalTOML when it has one.
// Adding a key is adding its field; nothing here names a key.
//
// It walks the tree BurntSushi/toml parsed instead of letting toml.Decode
// fill the struct because toml.Decode stops at the first problem, reports
// type mismatches as unpositioned strings, and decodes a list into the
// default list's backing array (changing a shared default). The walk goes
// on after a problem so that the first one in file order can be reported.
type decoder struct {
	ix   lineIndex
	errs []*Error
}

func (d *decoder) fail(key, format string, args ...any) {
	d.errs = append(d.errs, keyError(key, format, args...))
}

// keysOf lists the toml tags of a schema struct's fields, in field order;
// an embedded struct without a tag (Config's Settings) adds its own keys.
func keysOf(t reflect.Type) []string {
	var keys []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		switch tag := f.Tag.Get("toml"); {
		case f.Anonymous && tag == "":
			keys = append(keys, keysOf(f.Type)...)
		case tag != "" && tag != "-":
			keys = append(keys, tag)
		}
	}
	return keys
}

// fieldOf returns the field of struct value v whose toml tag is name,
// looking inside embedded structs as keysOf does.
func fieldOf(v reflect.Value, name string) (reflect.Value, bool) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		switch tag := f.Tag.Get("toml"); {
		case f.Anonymous && tag == "":
			if fv, ok := fieldOf(v.Field(i), name); ok {
				return fv, true
			}
		case tag == name && tag != "" && tag != "-":
			return v.Field(i), true
		}
	}
	return reflect.Value{}, false
}

var unmarshalerType = reflect.TypeOf((*toml.Unmarshaler)(nil)).Elem()

// table decodes the TOML table t into the struct dst, key by key in file
// order; key is the table's path ("" at the top).
func (d *decoder) table(key string, t map[string]any, dst reflect.Value) {
	for _, k := range d.sorted(key, t) {
		fkey := joinKey(key, k)
		f, ok := fieldOf(dst, k)
		if !ok {
			d.unknown(fkey, k, keysOf(dst.Type()))
			continue
		}
		d.value(fkey, t[k], f)
	}
}

// value decodes one TOML value into the field dst.
func (d *decoder) value(key string, v any, dst reflect.Value) {
	if dst.Addr().Type().Implements(unmarshalerType) {
		d.unmarshal(key, v, dst.Addr().Interface().(toml.Unmarshaler))
		return
	}
	switch dst.Kind() {
	case reflect.String:
		s, ok := v.(string)
		if !ok {
			d.fail(key, "want a string, got %s", describe(v))
			return
		}
		dst.SetString(s)
	case reflect.Bool:
		b, ok := v.(bool)
		if !ok {
			d.fail(key, "want true or false, got %s", describe(v))
			return
		}
		dst.SetBool(b)
	case reflect.Int, reflect.Int64:
		n, ok := v.(int64)
		if !ok {
			d.fail(key, "want an integer, got %s", describe(v))
			return
		}
		if dst.OverflowInt(n) {
			d.fail(key, "integer %d is out of range", n)
			return
		}
		dst.SetInt(n)
	case reflect.Struct:
		t, ok := v.(map[string]any)
		if !ok {
			d.fail(key, "want a table, got %s", describe(v))
			return
		}
		d.table(key, t, dst)
	case reflect.Slice:
		d.list(key, v, dst)
	default:
		// Only a schema change can get here; a test decodes every key.
		d.fail(key, "reqcache cannot decode a %s", dst.Type())
	}
}

// list decodes a TOML array, or an array of tables, into the slice dst. The
// file's list replaces the default one; a list with a bad element is left
// at its default.
func (d *decoder) list(key string, v any, dst reflect.Value) {
	elem := dst.Type().Elem()
	var items []any
	switch v := v.(type) {
	case []any:
		items = v
	case []map[string]any: // [[table]] headers
		for _, t := range v {
			items = append(items, t)
		}
	default:
		d.fail(key, "want %s, got %s", describeList(key, elem), describe(v))
		return
	}
	out := reflect.MakeSlice(dst.Type(), len(items), len(items))
	before := len(d.errs)
	for i, item := range items {
		d.value(indexKey(key, i), item, out.Index(i))
	}
	if len(d.errs) == before {
		dst.Set(out)
	}
}

// describeList says what a list key takes, for its type errors.
func describeList(key string, elem reflect.Type) string {
	switch elem.Kind() {
	case reflect.String:
		return "a list of strings"
	case reflect.Int, reflect.Int64:
		return "a list of integers"
	case reflect.Struct:
		return "[[" + key + "]] tables"
	}
	return "a list"
}

// normalize applies what Load promises beyond decoding: upper-case methods,
// lower-case logging names, Logging.Configured, mongo.uri's variables.
func (d *decoder) normalize(raw map[string]any, c *Config, lookupEnv func(string) (string, bool)) {
	for i, m := range c.AllowableMethods {
		c.AllowableMethods[i] = strings.ToUpper(m)
	}
	c.Logging.Level = strings.ToLower(strings.TrimSpace(c.Logging.Level))
	c.Logging.Format = strings.ToLower(strings.TrimSpace(c.Logging.Format))
	if _, ok := raw["logging"].(map[string]any); ok {
		c.Logging.Configured = true
	}
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
