package memory

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"hash/maphash"
	"sync"

	"github.com/allegro/bigcache/v3"

	"github.com/reqcache/reqcache/stores"
)

// This file is the store's index of resources (stores.URIIndex): for each
// URIKey, a record of the keys of the entries listed for it and the names
// of the aliases set for it, so that an unsafe request removes everything
// stored for its URI without a scan. (The session lists only what it
// cannot find from the URI alone: the entry of an anonymous GET costs no
// record.)
//
// Records live in a bigcache of their own (1/16 of the store), off the
// garbage collector's heap like the entries. Two rules keep every stored
// entry and scoped alias findable from its record: a record is written
// after its member is (so a member is never stored unlisted), and when a
// record is evicted for room, or grows past maxMembers, the members it
// drops are deleted with it. A record may still name members evicted or
// deleted since: deleting them again is harmless. Writes to one record are
// serialized by a striped lock.

// maxMembers bounds one record (17 bytes a member): a resource has a
// member per principal and variant — a per-user URL has one per user.
const maxMembers = 2048

// Member kinds in a record: a key of 32 hex digits stored as its 16 bytes,
// or any other name as its bytes; an entry or an alias.
const (
	memberEntryHex  = 'E'
	memberEntry     = 'e'
	memberAliasHex  = 'A'
	memberAlias     = 'a'
	indexRecordHint = 'u'
)

type member struct {
	name  string
	alias bool
}

type uriIndex struct {
	records *bigcache.BigCache
	entries *bigcache.BigCache
	aliases *bigcache.BigCache
	hot     *hotSet
	seed    maphash.Seed
	locks   [64]sync.Mutex
}

func newURIIndex() *uriIndex { return &uriIndex{seed: maphash.MakeSeed()} }

// recordKey is where the record of uri lives.
func recordKey(uri string) string {
	var b [17]byte
	if decodeHex16(b[1:], uri) {
		b[0] = indexRecordHint
		return string(b[:])
	}
	return string(indexRecordHint) + uri
}

// decodeHex16 reads 32 lower-case hex digits (the form of every key and
// URIKey) into dst, without allocating.
func decodeHex16(dst []byte, s string) bool {
	if len(s) != 32 {
		return false
	}
	for i := 0; i < 16; i++ {
		hi, ok1 := fromHex(s[2*i])
		lo, ok2 := fromHex(s[2*i+1])
		if !ok1 || !ok2 {
			return false
		}
		dst[i] = hi<<4 | lo
	}
	return true
}

func fromHex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

// appendMember appends a member's encoding.
func appendMember(b []byte, m member) []byte {
	var h [16]byte
	if decodeHex16(h[:], m.name) {
		kind := byte(memberEntryHex)
		if m.alias {
			kind = memberAliasHex
		}
		return append(append(b, kind), h[:]...)
	}
	kind := byte(memberEntry)
	if m.alias {
		kind = memberAlias
	}
	b = append(b, kind)
	b = binary.AppendUvarint(b, uint64(len(m.name)))
	return append(b, m.name...)
}

// hasMember reports whether record lists the member encoded as enc.
func hasMember(record, enc []byte) bool {
	for len(record) > 0 {
		n := memberLen(record)
		if n == 0 {
			return false
		}
		if n == len(enc) && string(record[:n]) == string(enc) {
			return true
		}
		record = record[n:]
	}
	return false
}

// memberLen is the length of the member record starts with (0: none).
func memberLen(record []byte) int {
	switch record[0] {
	case memberEntryHex, memberAliasHex:
		if len(record) < 17 {
			return 0
		}
		return 17
	case memberEntry, memberAlias:
		l, n := binary.Uvarint(record[1:])
		if n <= 0 || l > uint64(len(record)-1-n) {
			return 0
		}
		return 1 + n + int(l)
	}
	return 0
}

func (x *uriIndex) lock(uri string) *sync.Mutex {
	return &x.locks[maphash.String(x.seed, uri)%uint64(len(x.locks))]
}

// decodeMembers reads a record; what does not parse ends it.
func decodeMembers(b []byte) []member {
	var ms []member
	for len(b) > 0 {
		kind := b[0]
		b = b[1:]
		switch kind {
		case memberEntryHex, memberAliasHex:
			if len(b) < 16 {
				return ms
			}
			ms = append(ms, member{name: hex.EncodeToString(b[:16]), alias: kind == memberAliasHex})
			b = b[16:]
		case memberEntry, memberAlias:
			l, n := binary.Uvarint(b)
			if n <= 0 || l > uint64(len(b)-n) {
				return ms
			}
			ms = append(ms, member{name: string(b[n : n+int(l)]), alias: kind == memberAlias})
			b = b[n+int(l):]
		default:
			return ms
		}
	}
	return ms
}

// add lists a member of uri, after the member itself was stored.
func (x *uriIndex) add(uri, name string, alias bool) {
	if uri == "" {
		return
	}
	var buf [24]byte
	enc := appendMember(buf[:0], member{name: name, alias: alias})
	key := recordKey(uri)
	mu := x.lock(uri)
	mu.Lock()
	old, _ := x.records.Get(key)
	if hasMember(old, enc) {
		mu.Unlock()
		return
	}
	record := append(old, enc...)
	var dropped []member
	if len(record) > maxMembers*17 {
		// Past its bound: the oldest members go, listing and all.
		ms := decodeMembers(record)
		if len(ms) > maxMembers {
			dropped = ms[:len(ms)-maxMembers]
			record = nil
			for _, m := range ms[len(ms)-maxMembers:] {
				record = appendMember(record, m)
			}
		}
	}
	err := x.records.Set(key, record)
	mu.Unlock()
	if err != nil {
		// No room for the record: its members may not stay unlisted.
		dropped = decodeMembers(record)
	}
	x.remove(dropped)
}

// take removes and returns a resource's record.
func (x *uriIndex) take(uri string) []member {
	key := recordKey(uri)
	mu := x.lock(uri)
	mu.Lock()
	defer mu.Unlock()
	b, err := x.records.Get(key)
	if err != nil {
		return nil
	}
	_ = x.records.Delete(key) // (deletes are not reported to evicted)
	return decodeMembers(b)
}

// remove deletes members; it returns how many entries existed.
func (x *uriIndex) remove(ms []member) int {
	n := 0
	for _, m := range ms {
		if m.alias {
			_ = x.aliases.Delete(m.name)
			continue
		}
		x.hot.remove(m.name)
		if x.entries.Delete(m.name) == nil {
			n++
		}
	}
	return n
}

// evicted is the record cache's eviction callback: the members of a record
// evicted for room go with it.
func (x *uriIndex) evicted(_ string, record []byte, _ bigcache.RemoveReason) {
	x.remove(decodeMembers(record))
}

// IndexEntry implements stores.URIIndex.
func (s *Store) IndexEntry(ctx context.Context, uriKey, key string) error {
	c, err := s.open(ctx)
	if err != nil {
		return err
	}
	c.uris.add(uriKey, key, false)
	return nil
}

// SetAliasFor implements stores.URIIndex.
func (s *Store) SetAliasFor(ctx context.Context, uriKey, alias, value string) error {
	if err := s.SetAlias(ctx, alias, value); err != nil {
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
	ms := c.uris.take(uriKey)
	if len(ms) == 0 {
		return 0, nil
	}
	s.changes.Add(1)
	return c.uris.remove(ms), nil
}

var _ stores.URIIndex = (*Store)(nil)
