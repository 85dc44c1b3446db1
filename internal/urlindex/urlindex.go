// Package urlindex is the one map of where the cache keeps what it stores
// for a URL, beside the primary key a request's key gives (keys are the
// session's: cachekey, or a key function's):
//
//   - Variants: the primary key plus the request's values of the Vary
//     headers (cachekey.VariantKey). The alias under the primary key, the
//     Vary index, names the headers and the variants seen.
//   - The language alias (Language): the variant in one Content-Language,
//     for the requests that prefer it (a response that varies on
//     Accept-Language alone).
//   - A redirect alias: the alias under an earlier hop's primary key leads
//     to the final response's key (requests-cache's redirect aliases).
//   - The part (Part): a 206 kept for the URL.
//
// Keys are derived here alone, alias values are typed (Alias), and one
// traversal (Walk) serves the lookup of a request's stored response and
// the listing of its keys. Every entry carries its URL's resource name
// (stores.Entry.URIKey) and every alias is set for it, so that an unsafe
// request removes everything stored for its URI at once (stores.URIIndex).
package urlindex

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"

	"github.com/reqcache/reqcache/internal/cachekey"
	"github.com/reqcache/reqcache/stores"
)

const (
	partSuffix     = "-206"   // a part's key: its URL's primary key and this
	langSuffix     = "|lang=" // a language alias: primary key, this, language
	redirectPrefix = "r:"     // a redirect alias's value: this and the final key
	ownPrefix      = "k:"     // a key function's key rewritten (Own)
	sessionPrefix  = "reqcache:"
)

// Part is where the stored part of the response under key lives.
func Part(key string) string { return key + partSuffix }

// Language is where the language alias of a primary key lives.
func Language(primary, lang string) string { return primary + langSuffix + lang }

// Own is a key function's key as the cache uses it: the key itself,
// unless it has the shape of a key derived here (a part, a language
// alias), of a rewritten key, or of the session's own aliases
// (session.CredentialKeyAlias): then its SHA-256 under "k:". A key function
// may build keys from request data (the path), and such a key must never
// reach another key's part or aliases.
func Own(key string) string {
	if !strings.HasSuffix(key, partSuffix) && !strings.Contains(key, langSuffix) &&
		!strings.HasPrefix(key, ownPrefix) && !strings.HasPrefix(key, sessionPrefix) {
		return key
	}
	sum := sha256.Sum256([]byte(key))
	return ownPrefix + hex.EncodeToString(sum[:])
}

// AliasKind says what an alias value is.
type AliasKind int8

// The kinds of alias values.
const (
	// KeyAlias: the value is a key (a language alias's variant).
	KeyAlias AliasKind = iota
	// VaryAlias: a Vary index (Alias.Index).
	VaryAlias
	// RedirectAlias: a redirect's final response (Alias.Target).
	RedirectAlias
)

// Alias is an alias value, decoded.
type Alias struct {
	Kind AliasKind
	// Index is a Vary index's names (and, from ParseAlias, variants).
	Index cachekey.VaryIndex
	// Target is the key a redirect alias or a key alias leads to.
	Target string
}

// ParseAlias decodes an alias value.
func ParseAlias(v string) Alias {
	if idx, ok := cachekey.DecodeVaryIndex(v); ok {
		return Alias{Kind: VaryAlias, Index: idx}
	}
	if t, ok := strings.CutPrefix(v, redirectPrefix); ok {
		return Alias{Kind: RedirectAlias, Target: t}
	}
	return Alias{Kind: KeyAlias, Target: v}
}

// RedirectTo is the value of a redirect alias leading to key.
func RedirectTo(key string) string { return redirectPrefix + key }

// LeadsTo reports whether an alias leads to a key keep holds: its
// target, or one of a Vary index's variants.
func (a Alias) LeadsTo(keep func(key string) bool) bool {
	if a.Kind != VaryAlias {
		return keep(a.Target)
	}
	for _, k := range a.Index.Variants {
		if keep(k) {
			return true
		}
	}
	return false
}

// Via says how Walk reached a key.
type Via int8

// The ways to a request's stored response, in the order Walk tries them.
const (
	ViaPrimary  Via = iota // the request's primary key
	ViaVariant             // the variant its Vary headers select (the Vary index)
	ViaRedirect            // a redirect alias: another resource's final response
	ViaLanguage            // the variant in the language it prefers
)

// Step is one key Walk visits.
type Step struct {
	Key string
	Via Via
}

// AliasReader reads an alias (stores.Reader.GetAlias).
type AliasReader func(ctx context.Context, alias string) (string, error)

// Walk visits the keys a request's stored response may be under, in order:
// its primary key; the target of the primary key's alias (the variant its
// Vary headers select, or a redirect's final key), unless that is the
// primary key; and, for a Vary index on Accept-Language alone, the variant
// in the language header prefers above all others. visit returns true to
// stop. indexed reports that the primary key holds an alias (read when
// the walk got that far). An alias that cannot be read ends the walk: err
// is the reader's error (nil for stores.ErrNotFound).
func Walk(ctx context.Context, keys *cachekey.Keyer, primary string, header http.Header, read AliasReader, visit func(Step) bool) (indexed bool, err error) {
	if visit(Step{Key: primary, Via: ViaPrimary}) {
		return false, nil
	}
	v, err := read(ctx, primary)
	if err != nil {
		return false, notFoundIsNil(err)
	}
	var target string
	via := ViaRedirect
	a := parseForLookup(v)
	switch a.Kind {
	case VaryAlias:
		target, via = keys.VariantKey(primary, a.Index.Names, header), ViaVariant
	case RedirectAlias:
		target = a.Target
	}
	if target == "" || target == primary {
		return true, nil
	}
	if visit(Step{Key: target, Via: via}) {
		return true, nil
	}
	if a.Kind != VaryAlias || len(a.Index.Names) != 1 || a.Index.Names[0] != "Accept-Language" {
		return true, nil
	}
	top := cachekey.TopLanguage(header)
	if top == "" {
		return true, nil
	}
	v, err = read(ctx, Language(primary, top))
	if err != nil {
		return true, notFoundIsNil(err)
	}
	visit(Step{Key: v, Via: ViaLanguage})
	return true, nil
}

// parseForLookup is ParseAlias without a Vary index's variants, which a
// lookup does not read (one allocation fewer on a variant's hit).
func parseForLookup(v string) Alias {
	if idx, ok := cachekey.VaryIndexNames(v); ok {
		return Alias{Kind: VaryAlias, Index: idx}
	}
	return ParseAlias(v)
}

func notFoundIsNil(err error) error {
	if errors.Is(err, stores.ErrNotFound) {
		return nil
	}
	return err
}
