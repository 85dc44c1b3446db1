package memory

import (
	"context"
	"encoding/binary"
	"slices"
	"strings"
	"sync"
	"unsafe"

	"github.com/allegro/bigcache/v3"

	"github.com/reqcache/reqcache/stores"
)

// This file is the store's index of resources (stores.URIIndex): for each
// URIKey, the keys of its entries and the aliases set for it, so that an
// unsafe request removes everything stored for its URI without a scan.
//
// bigcache calls back on every removal (eviction for room, Delete), with
// the key and the stored bytes: the entry's encoding names its URIKey, an
// alias set for a resource carries it in front of its value. The callback
// runs under a bigcache shard's lock, so the index's own lock is never held
// while calling bigcache.

// scopedAlias marks an alias value stored with its resource: the byte,
// the URIKey's length and the URIKey, then the value.
const scopedAlias = 0x01

type uriIndex struct {
	mu   sync.Mutex
	uris map[string]*uriMembers
}

// uriMembers are the keys of a resource's entries and the names of its
// aliases. A resource rarely has more than a few (one per principal and
// variant), so slices beat sets.
type uriMembers struct {
	entries, aliases []string
}

func newURIIndex() *uriIndex { return &uriIndex{uris: make(map[string]*uriMembers)} }

func (x *uriIndex) add(uri, name string, alias bool) {
	if uri == "" {
		return
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	m := x.uris[uri]
	if m == nil {
		m = &uriMembers{}
		x.uris[uri] = m
	}
	list := &m.entries
	if alias {
		list = &m.aliases
	}
	if !slices.Contains(*list, name) {
		*list = append(*list, name)
	}
}

func (x *uriIndex) remove(uri, name string, alias bool) {
	if uri == "" {
		return
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	m := x.uris[uri]
	if m == nil {
		return
	}
	list := &m.entries
	if alias {
		list = &m.aliases
	}
	if i := slices.Index(*list, name); i >= 0 {
		*list = slices.Delete(*list, i, i+1)
	}
	if len(m.entries) == 0 && len(m.aliases) == 0 {
		delete(x.uris, uri)
	}
}

// take removes and returns a resource's members.
func (x *uriIndex) take(uri string) *uriMembers {
	x.mu.Lock()
	defer x.mu.Unlock()
	m := x.uris[uri]
	delete(x.uris, uri)
	return m
}

func (x *uriIndex) clear() {
	x.mu.Lock()
	x.uris = make(map[string]*uriMembers)
	x.mu.Unlock()
}

// len is the number of resources indexed (for tests).
func (x *uriIndex) len() int {
	x.mu.Lock()
	defer x.mu.Unlock()
	return len(x.uris)
}

// entryRemoved is the entries cache's removal callback.
func (x *uriIndex) entryRemoved(key string, encoded []byte, _ bigcache.RemoveReason) {
	if uri, ok := uriKeyOf(encoded); ok {
		x.remove(uri, key, false)
	}
}

// aliasRemoved is the alias cache's removal callback.
func (x *uriIndex) aliasRemoved(alias string, value []byte, _ bigcache.RemoveReason) {
	if uri, _, ok := splitScoped(value); ok {
		x.remove(uri, alias, true)
	}
}

// uriKeyOf reads an entry encoding's URIKey without decoding the rest.
func uriKeyOf(b []byte) (string, bool) {
	if len(b) < headerPrefix+1 || b[0] != magic || b[1] != version {
		return "", false
	}
	_, n := binary.Uvarint(b[headerPrefix:])
	if n <= 0 {
		return "", false
	}
	r := reader{s: unsafeString(b[headerPrefix+n:])}
	flags := r.byte()
	for i := 0; i < numTimes; i++ {
		if flags&(1<<i) != 0 {
			r.fixed(timeSize)
		}
	}
	r.uvarint() // status
	r.str()     // key
	uri := r.str()
	if r.bad {
		return "", false
	}
	return strings.Clone(uri), true
}

func unsafeString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// scoped is an alias value stored with its resource.
func scoped(uri, value string) []byte {
	b := make([]byte, 0, 1+binary.MaxVarintLen64+len(uri)+len(value))
	b = append(b, scopedAlias)
	b = binary.AppendUvarint(b, uint64(len(uri)))
	b = append(b, uri...)
	return append(b, value...)
}

// splitScoped reads a scoped alias value; ok is false for a plain one.
func splitScoped(b []byte) (uri, value string, ok bool) {
	if len(b) == 0 || b[0] != scopedAlias {
		return "", "", false
	}
	l, n := binary.Uvarint(b[1:])
	if n <= 0 || l > uint64(len(b)-1-n) {
		return "", "", false
	}
	return string(b[1+n : 1+n+int(l)]), string(b[1+n+int(l):]), true
}

// aliasValue is what GetAlias answers for stored alias bytes.
func aliasValue(b []byte) string {
	if _, v, ok := splitScoped(b); ok {
		return v
	}
	return string(b)
}

// SetAliasFor implements stores.URIIndex.
func (s *Store) SetAliasFor(ctx context.Context, uriKey, alias, value string) error {
	if err := s.setAlias(ctx, alias, scoped(uriKey, value)); err != nil {
		return err
	}
	if c, err := s.open(ctx); err == nil {
		c.uris.add(uriKey, alias, true)
	}
	return nil
}

// DeleteURI implements stores.URIIndex.
func (s *Store) DeleteURI(ctx context.Context, uriKey string) (int, error) {
	c, err := s.open(ctx)
	if err != nil {
		return 0, err
	}
	m := c.uris.take(uriKey)
	if m == nil {
		return 0, nil
	}
	s.changes.Add(1)
	n := 0
	for _, k := range m.entries {
		c.hot.remove(k)
		if c.entries.Delete(k) == nil {
			n++
		}
	}
	for _, a := range m.aliases {
		_ = c.aliases.Delete(a)
	}
	return n, nil
}

var _ stores.URIIndex = (*Store)(nil)
