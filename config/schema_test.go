package config

import (
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
)

// schemaKeys lists every key path of the schema, tables included.
func schemaKeys(prefix string, t reflect.Type) []string {
	var keys []string
	for _, k := range keysOf(t) {
		f, _ := t.FieldByNameFunc(func(name string) bool {
			sf, _ := t.FieldByName(name)
			return sf.Tag.Get("toml") == k
		})
		path := joinKey(prefix, k)
		keys = append(keys, path)
		ft := f.Type
		if ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct {
			keys = append(keys, schemaKeys(indexKey(path, 0), ft.Elem())...)
		} else if ft.Kind() == reflect.Struct && !reflect.PointerTo(ft).Implements(unmarshalerType) {
			keys = append(keys, schemaKeys(path, ft)...)
		}
	}
	return keys
}

// The decoder walks the schema, so a new field is decoded without further
// code; full.toml (decoded and compared field by field in
// TestLoadEveryKey) must set it, which this test enforces.
func TestFullExampleSetsEverySchemaKey(t *testing.T) {
	data, err := os.ReadFile("testdata/full.toml")
	if err != nil {
		t.Fatal(err)
	}
	ix := indexLines(string(data))
	setAnywhere := func(k string) bool {
		// A key of a list's tables may be set in any of them (a
		// urls_expire_after entry has a pattern or a regex, not both).
		for i := range 10 {
			if _, ok := ix[strings.Replace(k, "[0]", fmt.Sprintf("[%d]", i), 1)]; ok {
				return true
			}
		}
		return false
	}
	for _, k := range schemaKeys("", reflect.TypeOf(Config{})) {
		if !setAnywhere(k) {
			t.Errorf("testdata/full.toml does not set %s", k)
		}
	}
}

func TestFileListsLeaveDefaultsAlone(t *testing.T) {
	c, err := Parse("x.toml", []byte("allowable_codes = [404]\nallowable_methods = [\"post\"]\nignored_parameters = [\"token\"]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c.AllowableCodes, []int{404}) || !reflect.DeepEqual(c.AllowableMethods, []string{"POST"}) {
		t.Fatalf("decoded %v %v", c.AllowableCodes, c.AllowableMethods)
	}
	d := Default()
	if !reflect.DeepEqual(d.AllowableCodes, []int{200}) || !reflect.DeepEqual(d.AllowableMethods, []string{"GET", "HEAD"}) ||
		!reflect.DeepEqual(d.IgnoredParameters, defaultIgnoredParameters) || d.IgnoredParameters[0] != "Authorization" {
		t.Fatalf("defaults changed: %v %v %v", d.AllowableCodes, d.AllowableMethods, d.IgnoredParameters)
	}
}

func TestKeysWithoutATagAreUnknown(t *testing.T) {
	for _, doc := range []string{"\"\" = 1\n", "Source = \"x\"\n", "[logging]\nConfigured = true\n", "\"-\" = 1\n"} {
		_, err := Parse("x.toml", []byte(doc))
		if err == nil || !strings.Contains(err.Error(), "unknown key") {
			t.Errorf("%q: got %v, want an unknown-key error", doc, err)
		}
	}
}

func TestBadListElementNamesItsIndex(t *testing.T) {
	for doc, want := range map[string]string{
		"allowable_codes = [200, \"x\"]\n":                  "x.toml:1: allowable_codes[1]: want an integer",
		"allowable_methods = \"GET\"\n":                     "x.toml:1: allowable_methods: want a list of strings",
		"urls_expire_after = 3\n":                           "x.toml:1: urls_expire_after: want [[urls_expire_after]] tables",
		"urls_expire_after = [{pattern = \"a\"}, 3]\n":      "x.toml:1: urls_expire_after[1]: want a table",
		"[memory]\nshards = 1.5\n":                          "x.toml:2: memory.shards: want an integer, got float 1.5",
		"[memory]\nmax_size_mb = 99999999999999999999999\n": "",
		"[memory]\nmax_size_mb = 9223372036854775807\n":     "",
		"[mongo]\nmax_pool_size = -9223372036854775808\n":   "x.toml:2: mongo.max_pool_size",
		"[[urls_expire_after]]\npattern = 1\n":              "x.toml:2: urls_expire_after[0].pattern: want a string, got integer 1",
	} {
		_, err := Parse("x.toml", []byte(doc))
		if err == nil {
			t.Errorf("%q: no error", doc)
			continue
		}
		if !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%q:\n got %v\nwant %s...", doc, err, want)
		}
	}
}
