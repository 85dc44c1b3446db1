package cachekey

import "strings"

// The Vary index: the value of the alias under a URL's primary key when
// its responses vary (session/index.go), naming the Vary headers and the
// variant keys seen, encoded as "v:" + names joined by "," + "|" +
// variant keys joined by " ".

const (
	// AliasVary starts every Vary index.
	AliasVary = "v:"
	// MaxVariants bounds the variant keys an index remembers (the others
	// are still stored, found by their key, and removed by their URI).
	MaxVariants = 64
)

// VaryIndex is the decoded value of a Vary alias.
type VaryIndex struct {
	Names    []string
	Variants []string
}

// Encode is the alias value of v.
func (v VaryIndex) Encode() string {
	return AliasVary + strings.Join(v.Names, ",") + "|" + strings.Join(v.Variants, " ")
}

// DecodeVaryIndex reads an alias value; ok is false for one that is not a
// Vary index (a redirect alias, a key).
func DecodeVaryIndex(s string) (VaryIndex, bool) {
	names, variants, ok := splitVaryIndex(s)
	if !ok {
		return VaryIndex{}, false
	}
	return VaryIndex{Names: strings.Split(names, ","), Variants: strings.Fields(variants)}, true
}

// VaryIndexNames is DecodeVaryIndex without the variants, which a lookup
// does not read (one allocation fewer on a variant's hit).
func VaryIndexNames(s string) (VaryIndex, bool) {
	names, _, ok := splitVaryIndex(s)
	if !ok {
		return VaryIndex{}, false
	}
	return VaryIndex{Names: strings.Split(names, ",")}, true
}

func splitVaryIndex(s string) (names, variants string, ok bool) {
	rest, ok := strings.CutPrefix(s, AliasVary)
	if !ok {
		return "", "", false
	}
	names, variants, ok = strings.Cut(rest, "|")
	return names, variants, ok && names != ""
}

// WithVariant returns the index for names with key added (a different set
// of names starts a new index: lookups then look for the new names; the
// variants stored under the old ones stay until their URI is invalidated
// or they are overwritten or evicted).
func (v VaryIndex) WithVariant(names []string, key string) VaryIndex {
	if strings.Join(v.Names, ",") != strings.Join(names, ",") {
		return VaryIndex{Names: names, Variants: []string{key}}
	}
	for _, k := range v.Variants {
		if k == key {
			return v
		}
	}
	vs := append(append([]string(nil), v.Variants...), key)
	if len(vs) > MaxVariants {
		vs = vs[len(vs)-MaxVariants:]
	}
	return VaryIndex{Names: names, Variants: vs}
}
