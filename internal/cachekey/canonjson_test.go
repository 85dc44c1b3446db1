package cachekey

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"unicode/utf8"
)

// referenceJSON is canonicalJSON built on encoding/json: decode into an
// any (UseNumber), drop or redact the ignored top-level fields, marshal;
// and only for bodies strictJSON accepts. canonicalJSON must give the same
// bytes.
func referenceJSON(body []byte, ignore func(string) bool, redact bool) (out []byte, found, ok bool) {
	if !strictJSON(body) {
		return nil, false, false
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return nil, false, false
	}
	if obj, isObj := v.(map[string]any); isObj && ignore != nil {
		for name := range obj {
			if ignore(name) {
				found = true
				if redact {
					obj[name] = Redacted
				} else {
					delete(obj, name)
				}
			}
		}
	}
	out, err := json.Marshal(v)
	if err != nil {
		return nil, false, false
	}
	return out, found, true
}

// strictJSON reports one JSON value with nothing after it but whitespace,
// valid UTF-8, no U+FFFD in any string (lone surrogate escapes decode to
// it) and no duplicate member names: the bodies whose canonical form stands
// for them alone.
func strictJSON(body []byte) bool {
	if !utf8.Valid(body) {
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	type level struct {
		object bool
		seen   map[string]bool
		key    bool // the next token of an object is a key
	}
	var stack []*level
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return false
		}
		var top *level
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		isKey := top != nil && top.object && top.key
		if top != nil && top.object {
			top.key = !top.key
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{':
				stack = append(stack, &level{object: true, seen: map[string]bool{}, key: true})
			case '[':
				stack = append(stack, &level{})
			default:
				stack = stack[:len(stack)-1]
				if len(stack) > 0 && stack[len(stack)-1].object {
					// The closed container was a value: a key comes next.
					stack[len(stack)-1].key = true
				}
			}
			if t == '{' || t == '[' {
				if top != nil && top.object {
					top.key = false // the container is this member's value
				}
			}
		case string:
			if strings.ContainsRune(t, utf8.RuneError) {
				return false
			}
			if isKey {
				if top.seen[t] {
					return false
				}
				top.seen[t] = true
			}
		}
		if len(stack) == 0 {
			break
		}
	}
	// Nothing but whitespace after the value.
	rest := body[dec.InputOffset():]
	return len(stack) == 0 && len(bytes.Trim(rest, " \t\r\n")) == 0 && len(bytes.TrimSpace(body)) > 0
}

var canonJSONSeeds = []string{
	`{"b":1,"a":[true,false,null,"x"],"c":{"z":1.50,"y":-0,"x":1E+5}}`,
	`  {"api_key":"k","q":"go"}  `,
	`{"a":1,"a":2}`,
	`{"a":{"x":1},"a":{"y":2}}`,
	`{"<tag>":"a&b","\u2028":"\u2029","é":"\u00e9","\ud83d\ude00":"\ud800x","\udc00":"\ud800\u0041"}`,
	"{\"bad\":\"\xff\xfe\",\"ok\":\"\xef\xbf\xbd\"}",
	`"\b\f\n\r\t\u0001\u001f\"\\\/"`,
	`[1,2,3]`, `[]`, `{}`, `null`, `0`, `-0.0e-0`, `"x"`,
	`{"a":1}]`, `{"a":1}}`, `{"a":1} x`, `{"a":1}{}`, `1x`, `1 ]`,
	`01`, `1.`, `.5`, `-`, `1e`, `+1`, `{"a" 1}`, `{"a":1,}`, `[1,]`, `{a:1}`, `"\x"`, `"\u12"`, "\"a\x01b\"", `tru`, `nul`, `falsey`,
	"\xef\xbb\xbf{}", ``, `   `,
	strings.Repeat("[", 10001) + strings.Repeat("]", 10001),
	strings.Repeat("[", 10000) + strings.Repeat("]", 10000),
}

func FuzzCanonicalJSON(f *testing.F) {
	for _, s := range canonJSONSeeds {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	k := New([]string{"api_key", "Token"}, false, nil)
	f.Fuzz(func(t *testing.T, body []byte, redact bool) {
		want, wantFound, wantOK := referenceJSON(body, k.IsIgnored, redact)
		got, gotFound, gotOK := canonicalJSON(body, k.IsIgnored, redact)
		if gotOK != wantOK || gotFound != wantFound || !bytes.Equal(got, want) {
			t.Fatalf("canonicalJSON(%q, redact=%v) = %q, found %v, ok %v; encoding/json gives %q, %v, %v",
				body, redact, got, gotFound, gotOK, want, wantFound, wantOK)
		}
	})
}

// The key of a JSON body no longer builds Go values: far fewer allocations.
func TestCanonicalJSONAllocations(t *testing.T) {
	k := New([]string{"api_key"}, false, nil)
	body := jsonBody2K()
	allocs := testing.AllocsPerRun(100, func() { canonicalJSON(body, k.IsIgnored, false) })
	if allocs > 40 {
		t.Fatalf("%v allocations to canonicalize a 2 KiB JSON body, want at most 40 (encoding/json took ~740)", allocs)
	}
}
