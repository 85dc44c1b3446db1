package session

import (
	"strings"
)

// This file is Vary (RFC 9111 §4.1). Responses without Vary are stored under
// the request's primary key. A response with Vary is stored under a variant
// key (the primary key plus the request's values of the Vary headers), and
// the primary key's alias records the Vary header names and the variant keys
// seen, so that variants coexist and can all be invalidated together.
// Redirect aliases share the alias space: one alias per primary key.

const (
	aliasVary     = "v:"
	aliasRedirect = "r:"
	// maxVariants bounds the variant keys remembered for one URL.
	maxVariants = 64
)

// varyIndex is the decoded value of a Vary alias.
type varyIndex struct {
	names    []string
	variants []string
}

func (v varyIndex) encode() string {
	return aliasVary + strings.Join(v.names, ",") + "|" + strings.Join(v.variants, " ")
}

func decodeVaryIndex(s string) (varyIndex, bool) {
	rest, ok := strings.CutPrefix(s, aliasVary)
	if !ok {
		return varyIndex{}, false
	}
	names, variants, ok := strings.Cut(rest, "|")
	if !ok || names == "" {
		return varyIndex{}, false
	}
	return varyIndex{names: strings.Split(names, ","), variants: strings.Fields(variants)}, true
}

// withVariant returns the index for names with key added (a different set
// of names starts a new index).
func (v varyIndex) withVariant(names []string, key string) varyIndex {
	if strings.Join(v.names, ",") != strings.Join(names, ",") {
		return varyIndex{names: names, variants: []string{key}}
	}
	for _, k := range v.variants {
		if k == key {
			return v
		}
	}
	vs := append(append([]string(nil), v.variants...), key)
	if len(vs) > maxVariants {
		vs = vs[len(vs)-maxVariants:]
	}
	return varyIndex{names: names, variants: vs}
}
