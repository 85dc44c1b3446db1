package memory

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"net/http"
	"time"
	"unsafe"

	"github.com/reqcache/reqcache/stores"
)

// The binary encoding of an Entry (all integers little-endian; uvarint is
// encoding/binary's unsigned varint):
//
//	magic     1 byte  0xC4
//	version   1 byte  stores.ModelVersion
//	metaLen   uvarint length of the meta section that follows
//	meta      metaLen bytes:
//	  flags     1 byte: bit i set when time i is present (0 RequestedAt,
//	            1 CreatedAt, 2 ExpiresAt, 3 DiscardAt); bits 4-7 the
//	            stores.Lifetime (1, heuristic, is where model version
//	            2's heuristic bit was, so its entries read unchanged)
//	  times     for each present time, in that order: 8 bytes int64 Unix
//	            seconds, 4 bytes uint32 nanoseconds (< 1e9)
//	  status    uvarint, zig-zag encoded StatusCode
//	  key       uvarint length + bytes
//	  uriKey    uvarint length + bytes
//	  method    uvarint length + bytes
//	  url       uvarint length + bytes
//	  bodyLen   uvarint, must equal the length of the body section
//	  nValues   uvarint, the number of header values in both headers
//	  header    uvarint count of names; for each name: uvarint length +
//	            bytes, uvarint count of values, each value uvarint length +
//	            bytes (values in order)
//	  reqHeader the same layout, for RequestHeader
//	  initialAge uvarint CreatedAt − GeneratedAt in nanoseconds, only when
//	            both are set (absent, the encoding is the one of builds
//	            before GeneratedAt, which read every entry without it)
//	body      bodyLen bytes, the rest of the buffer
//
// Decoding copies the meta section into one string and slices every string
// field out of it (one allocation for all strings; none with decodeOwned),
// puts every header value in one []string (allocated with the Entry), and
// returns a Body that is a sub-slice of the input. A
// zero time is encoded by leaving its flag bit clear; times keep nanosecond
// precision over the whole range of time.Time Unix seconds (no int64
// nanosecond overflow for far-future expiry dates).

const (
	magic         byte = 0xC4
	version       byte = stores.ModelVersion // does not compile past 255
	headerPrefix       = 2                   // magic + version
	timeSize           = 12
	numTimes           = 4
	lifetimeShift      = numTimes // the Lifetime's 4 bits above the times'
)

var (
	errShort     = fmt.Errorf("%w: truncated encoding", stores.ErrCorrupt)
	errMagic     = fmt.Errorf("%w: not a reqcache entry (bad magic byte)", stores.ErrCorrupt)
	errMeta      = fmt.Errorf("%w: malformed metadata", stores.ErrCorrupt)
	errBodyLen   = fmt.Errorf("%w: body length does not match", stores.ErrCorrupt)
	errTrailing  = fmt.Errorf("%w: trailing bytes in metadata", stores.ErrCorrupt)
	errValueSize = fmt.Errorf("%w: header value count does not match", stores.ErrCorrupt)
)

// errUnknownVersion is wrapped (together with stores.ErrCorrupt) by decodeShared
// for an entry written with another model version.
var errUnknownVersion = errors.New("unknown entry model version")

func uvarintLen(x uint64) int {
	// 1 byte per 7 bits, at least one byte.
	return (bits.Len64(x|1) + 6) / 7
}

func strLen(s string) int { return uvarintLen(uint64(len(s))) + len(s) }

func zigzag(x int64) uint64 { return uint64(x<<1) ^ uint64(x>>63) }

func unzigzag(u uint64) int64 { return int64(u>>1) ^ -int64(u&1) }

func headerLen(h http.Header) (n, values int) {
	n = uvarintLen(uint64(len(h)))
	for k, vs := range h {
		n += strLen(k) + uvarintLen(uint64(len(vs)))
		for _, v := range vs {
			n += strLen(v)
		}
		values += len(vs)
	}
	return n, values
}

func times(e *stores.Entry) [numTimes]time.Time {
	return [numTimes]time.Time{e.RequestedAt, e.CreatedAt, e.ExpiresAt, e.DiscardAt}
}

// metaLen returns the length of e's meta section and its total number of
// header values.
func metaLen(e *stores.Entry) (int, int) {
	n := 1
	for _, t := range times(e) {
		if !t.IsZero() {
			n += timeSize
		}
	}
	n += uvarintLen(zigzag(int64(e.StatusCode)))
	n += strLen(e.Key) + strLen(e.URIKey) + strLen(e.Method) + strLen(e.URL)
	n += uvarintLen(uint64(len(e.Body)))
	h, hv := headerLen(e.Header)
	r, rv := headerLen(e.RequestHeader)
	n += h + r
	n += uvarintLen(uint64(hv + rv))
	if ia, ok := initialAge(e); ok {
		n += uvarintLen(ia)
	}
	return n, hv + rv
}

// initialAge is what the encoding keeps of e.GeneratedAt: its distance
// before CreatedAt, when both are set (rules.GeneratedAt never makes one
// after CreatedAt; ok is false then too).
func initialAge(e *stores.Entry) (uint64, bool) {
	if e.GeneratedAt.IsZero() || e.CreatedAt.IsZero() || e.GeneratedAt.After(e.CreatedAt) {
		return 0, false
	}
	return uint64(e.CreatedAt.Sub(e.GeneratedAt)), true
}

// entryLen returns the length of e's encoding.
func entryLen(e *stores.Entry) int {
	m, _ := metaLen(e)
	return encodedLen(m, len(e.Body))
}

// encodedLen is the length of an encoding whose meta section is m bytes.
func encodedLen(m, bodyLen int) int {
	return headerPrefix + uvarintLen(uint64(m)) + m + bodyLen
}

// encode returns the binary encoding of e (see appendEncode). The result
// shares no memory with e.
func encode(e *stores.Entry) []byte {
	return appendEncode(make([]byte, 0, entryLen(e)), e)
}

// appendEncode appends the binary encoding of e to dst and returns the
// extended buffer. The encoding starts with a magic byte and
// stores.ModelVersion; decodeShared reads it back. Header order among names is
// not kept (an http.Header is a map); the order of each name's values is.
func appendEncode(dst []byte, e *stores.Entry) []byte {
	m, values := metaLen(e)
	return appendEncoded(dst, e, m, values)
}

// appendEncoded is appendEncode with e's metaLen already known.
func appendEncoded(dst []byte, e *stores.Entry, m, values int) []byte {
	dst = append(dst, magic, version)
	dst = binary.AppendUvarint(dst, uint64(m))
	var flags byte
	ts := times(e)
	for i, t := range ts {
		if !t.IsZero() {
			flags |= 1 << i
		}
	}
	flags |= byte(e.Lifetime) << lifetimeShift
	dst = append(dst, flags)
	for _, t := range ts {
		if !t.IsZero() {
			dst = binary.LittleEndian.AppendUint64(dst, uint64(t.Unix()))
			dst = binary.LittleEndian.AppendUint32(dst, uint32(t.Nanosecond()))
		}
	}
	dst = binary.AppendUvarint(dst, zigzag(int64(e.StatusCode)))
	dst = appendStr(dst, e.Key)
	dst = appendStr(dst, e.URIKey)
	dst = appendStr(dst, e.Method)
	dst = appendStr(dst, e.URL)
	dst = binary.AppendUvarint(dst, uint64(len(e.Body)))
	dst = binary.AppendUvarint(dst, uint64(values))
	dst = appendHeader(dst, e.Header)
	dst = appendHeader(dst, e.RequestHeader)
	if ia, ok := initialAge(e); ok {
		dst = binary.AppendUvarint(dst, ia)
	}
	return append(dst, e.Body...)
}

func appendStr(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

func appendHeader(dst []byte, h http.Header) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(h)))
	for k, vs := range h {
		dst = appendStr(dst, k)
		dst = binary.AppendUvarint(dst, uint64(len(vs)))
		for _, v := range vs {
			dst = appendStr(dst, v)
		}
	}
	return dst
}

// reader parses the meta section. Every read is bounds-checked; the first
// failure sets bad, and later reads return zero values.
type reader struct {
	s   string
	off int
	bad bool
}

func (r *reader) remaining() int { return len(r.s) - r.off }

func (r *reader) byte() byte {
	if r.bad || r.off >= len(r.s) {
		r.bad = true
		return 0
	}
	b := r.s[r.off]
	r.off++
	return b
}

func (r *reader) uvarint() uint64 {
	var x uint64
	var shift uint
	for i := 0; i < binary.MaxVarintLen64; i++ {
		if r.bad || r.off >= len(r.s) {
			r.bad = true
			return 0
		}
		b := r.s[r.off]
		r.off++
		if b < 0x80 {
			if i == binary.MaxVarintLen64-1 && b > 1 {
				r.bad = true // overflows uint64
				return 0
			}
			return x | uint64(b)<<shift
		}
		x |= uint64(b&0x7f) << shift
		shift += 7
	}
	r.bad = true
	return 0
}

// count reads a uvarint that counts items taking at least min bytes each
// in the rest of the meta section, so that garbled counts cannot cause
// huge allocations.
func (r *reader) count(min int) int {
	n := r.uvarint()
	if r.bad || n > uint64(r.remaining()/min) {
		r.bad = true
		return 0
	}
	return int(n)
}

func (r *reader) str() string {
	n := r.uvarint()
	if r.bad || n > uint64(r.remaining()) {
		r.bad = true
		return ""
	}
	s := r.s[r.off : r.off+int(n)]
	r.off += int(n)
	return s
}

func (r *reader) fixed(n int) string {
	if r.bad || n > r.remaining() {
		r.bad = true
		return ""
	}
	s := r.s[r.off : r.off+n]
	r.off += n
	return s
}

func (r *reader) time() time.Time {
	b := r.fixed(timeSize)
	if r.bad {
		return time.Time{}
	}
	sec := int64(uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56)
	nsec := uint32(b[8]) | uint32(b[9])<<8 | uint32(b[10])<<16 | uint32(b[11])<<24
	if nsec >= 1e9 {
		r.bad = true
		return time.Time{}
	}
	t := time.Unix(sec, int64(nsec)).UTC()
	if t.IsZero() {
		// Only the flag bit may say "zero": keeps encodings canonical.
		r.bad = true
	}
	return t
}

// header reads one header into a fresh map whose value slices are
// capacity-limited windows of vals (so that appending to one never
// overwrites another). *vi is the next free index of vals.
func (r *reader) header(vals []string, vi *int) http.Header {
	n := r.count(2) // a name takes at least a length byte and a count byte
	h := make(http.Header, n)
	for i := 0; i < n && !r.bad; i++ {
		name := r.str()
		c := r.uvarint()
		if r.bad || c > uint64(len(vals)-*vi) {
			r.bad = true
			break
		}
		start := *vi
		for j := 0; j < int(c) && !r.bad; j++ {
			vals[*vi] = r.str()
			*vi++
		}
		h[name] = vals[start:*vi:*vi]
	}
	return h
}

// decodeShared parses an encoding made by encode or appendEncode. The entry's
// Body is a sub-slice of b, which the caller must therefore not modify
// while the entry is in use; every string field and header value is
// copied out of b (all of them in one allocation), so that keeping a
// string does not keep the body alive. Header and RequestHeader are always
// fresh, non-nil maps the caller may change, and appending to one of their
// value slices never overwrites another. Times are returned in UTC.
//
// Bytes that are not a whole, well-formed encoding return an error
// wrapping stores.ErrCorrupt; an encoding of another model version returns
// one wrapping both stores.ErrCorrupt and errUnknownVersion. decodeShared never
// panics, whatever b holds.
func decodeShared(b []byte) (*stores.Entry, error) { return decode(b, false) }

// decodeOwned is decodeShared without copying the strings: the entry's string
// fields and header values point into b as well, which saves an allocation
// and a copy on every read. The caller hands b over: nothing may modify b
// afterwards (the entry's Body, the only part of b it exposes, is a
// separate region that cannot reach the strings). Keeping any string of
// the entry keeps all of b, body included, alive; use decodeShared for entries
// whose strings outlive their body. The memory store's Get uses it on the
// fresh copy bigcache returns.
func decodeOwned(b []byte) (*stores.Entry, error) { return decode(b, true) }

func decode(b []byte, owned bool) (*stores.Entry, error) {
	if len(b) < headerPrefix+1 {
		return nil, errShort
	}
	if b[0] != magic {
		return nil, errMagic
	}
	if b[1] != version {
		return nil, fmt.Errorf("%w: %w %d (this build reads %d)", stores.ErrCorrupt, errUnknownVersion, b[1], version)
	}
	m, n := binary.Uvarint(b[headerPrefix:])
	if n <= 0 {
		return nil, errShort
	}
	p := headerPrefix + n
	if m > uint64(len(b)-p) {
		return nil, errShort
	}
	end := p + int(m)
	if end == p {
		return nil, errMeta // at least the flags byte
	}
	body := b[end:len(b):len(b)]
	var r reader
	if owned {
		r.s = unsafe.String(&b[p], end-p)
	} else {
		r.s = string(b[p:end])
	}

	var t [numTimes]time.Time
	flags := r.byte()
	lifetime := stores.Lifetime(flags >> lifetimeShift)
	if !lifetime.Valid() {
		return nil, errMeta
	}
	for i := range t {
		if flags&(1<<i) != 0 {
			t[i] = r.time()
		}
	}
	status := unzigzag(r.uvarint())
	if int64(int(status)) != status {
		return nil, errMeta // does not fit this platform's int
	}
	key := r.str()
	uriKey := r.str()
	method := r.str()
	url := r.str()
	bodyLen := r.uvarint()
	if !r.bad && bodyLen != uint64(len(body)) {
		if bodyLen > uint64(len(body)) {
			return nil, errShort
		}
		return nil, errBodyLen
	}
	nv := r.count(1) // a value takes at least its length byte
	if r.bad {
		return nil, errMeta
	}
	e, vals := newEntry(nv)
	vi := 0
	e.Header = r.header(vals, &vi)
	e.RequestHeader = r.header(vals, &vi)
	if r.remaining() > 0 && !r.bad {
		ia := r.uvarint()
		if t[1].IsZero() || ia > math.MaxInt64 {
			return nil, errMeta // only an entry with CreatedAt has one
		}
		e.GeneratedAt = t[1].Add(-time.Duration(ia))
	}
	switch {
	case r.bad:
		return nil, errMeta
	case r.remaining() != 0:
		return nil, errTrailing
	case vi != nv:
		return nil, errValueSize
	}
	e.Key, e.URIKey, e.Method, e.URL = key, uriKey, method, url
	e.Lifetime = lifetime
	e.StatusCode = int(status)
	e.RequestedAt, e.CreatedAt, e.ExpiresAt, e.DiscardAt = t[0], t[1], t[2], t[3]
	e.Body = body
	return e, nil
}

// newEntry allocates an entry and the backing array of its n header
// values together when n is small (one allocation instead of two).
func newEntry(n int) (*stores.Entry, []string) {
	switch {
	case n <= 4:
		x := new(struct {
			e stores.Entry
			v [4]string
		})
		return &x.e, x.v[:n:n]
	case n <= 16:
		x := new(struct {
			e stores.Entry
			v [16]string
		})
		return &x.e, x.v[:n:n]
	case n <= 32:
		x := new(struct {
			e stores.Entry
			v [32]string
		})
		return &x.e, x.v[:n:n]
	}
	return new(stores.Entry), make([]string, n)
}
