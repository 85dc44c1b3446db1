package debugpage

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"iter"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/reqcache/reqcache/internal/cachekey"
	"github.com/reqcache/reqcache/stores"
)

// Filter chooses the rows of a listing.
type Filter struct {
	Host     string `json:"host,omitempty"`     // "example.com" (every port) or "example.com:8443"
	Contains string `json:"contains,omitempty"` // a substring of the stored URL
	State    string `json:"state,omitempty"`    // "fresh", "expired" or "" for both
}

func (f Filter) selects(e *stores.Entry, now time.Time, redact func(string) string) bool {
	switch f.State {
	case "fresh":
		if e.Expired(now) {
			return false
		}
	case "expired":
		if !e.Expired(now) {
			return false
		}
	}
	if f.Host != "" && !cachekey.HostMatches(e.URL, f.Host) {
		return false
	}
	return f.Contains == "" || strings.Contains(redact(e.URL), f.Contains)
}

// Row is one stored response in a listing.
type Row struct {
	Key        string    `json:"key"`
	Method     string    `json:"method"`
	URL        string    `json:"url"` // redacted
	Status     int       `json:"status"`
	Size       int       `json:"size"`
	CreatedAt  time.Time `json:"created_at"`
	AgeSeconds int64     `json:"age_seconds"`
	// TTLSeconds is the freshness left (negative: stale); absent for a
	// response that never expires.
	TTLSeconds *int64 `json:"ttl_seconds,omitempty"`
	Fresh      bool   `json:"fresh"`
	Vary       string `json:"vary,omitempty"`
	// Selects is what selects this variant of its URL: the values the
	// stored request sent for the headers the response varies on
	// ("Accept-Language: de"), as stored (credentials REDACTED).
	Selects string `json:"selects,omitempty"`
}

func rowOf(e *stores.Entry, now time.Time, redact func(string) string) Row {
	r := Row{
		Key: e.Key, Method: e.Method, URL: redact(e.URL), Status: e.StatusCode, Size: e.Size(),
		CreatedAt: e.CreatedAt, AgeSeconds: int64(now.Sub(e.CreatedAt) / time.Second),
		Fresh: !e.Expired(now), Vary: e.Header.Get("Vary"), Selects: selects(e),
	}
	if !e.ExpiresAt.IsZero() {
		ttl := int64(e.ExpiresAt.Sub(now) / time.Second)
		r.TTLSeconds = &ttl
	}
	return r
}

// selects names the request header values a variant was stored for, so
// that rows of one URL under Vary tell apart.
func selects(e *stores.Entry) string {
	var parts []string
	for _, v := range e.Header.Values("Vary") {
		for _, name := range strings.Split(v, ",") {
			name = strings.TrimSpace(name)
			if name == "" || name == "*" {
				continue
			}
			value := strings.Join(e.RequestHeader.Values(name), ", ")
			if value == "" {
				value = "(none)"
			}
			parts = append(parts, http.CanonicalHeaderKey(name)+": "+value)
		}
	}
	return strings.Join(parts, " · ")
}

// Listing is one page of a listing.
type Listing struct {
	Filter Filter `json:"filter"`
	Cursor string `json:"cursor"`
	Page   int    `json:"page"`
	Rows   []Row  `json:"entries"`
	// Examined counts the entries the listing has read so far, this page
	// included; More is false once it has read them all.
	Examined int  `json:"examined"`
	More     bool `json:"more"`
	// Restarted: the cursor asked for had expired, so this is page 1 of
	// a new listing.
	Restarted bool `json:"restarted,omitempty"`
}

// maxPages bounds the pages a cursor keeps for going back (rows, not
// entries: a few hundred bytes each).
const maxPages = 200

// cursor is a listing in progress: a scan of the store paused between
// requests (iter.Pull), and the pages it produced.
type cursor struct {
	mu       sync.Mutex
	filter   Filter
	next     func() (*stores.Entry, bool)
	stop     func()
	cancel   context.CancelFunc
	err      error // the scan's, once it has ended
	pages    [][]Row
	examined []int // after each page
	done     bool
	used     time.Time
}

func (st *State) newCursor(f Filter) (string, *cursor) {
	ctx, cancel := context.WithCancel(context.Background())
	c := &cursor{filter: f, cancel: cancel, used: time.Now()}
	scan := func(yield func(*stores.Entry) bool) {
		c.err = st.src.Store.Scan(ctx, yield)
	}
	c.next, c.stop = iter.Pull(iter.Seq[*stores.Entry](scan))
	var b [8]byte
	_, _ = rand.Read(b[:])
	id := hex.EncodeToString(b[:])

	st.mu.Lock()
	dropped := st.dropIdleCursors()
	st.cursors[id] = c
	st.mu.Unlock()
	// Closed here, not under st.mu: one may be producing a page.
	for _, d := range dropped {
		d.close()
	}
	return id, c
}

// dropIdleCursors removes cursors idle for cursorIdle, and the least
// recently used beyond cursorsKept - 1, and returns them for closing.
// st.mu is held.
func (st *State) dropIdleCursors() (dropped []*cursor) {
	now := time.Now()
	for len(st.cursors) > 0 {
		oldestID, oldest := "", (*cursor)(nil)
		for id, c := range st.cursors {
			if now.Sub(c.used) > cursorIdle {
				dropped = append(dropped, c)
				delete(st.cursors, id)
				continue
			}
			if oldest == nil || c.used.Before(oldest.used) {
				oldestID, oldest = id, c
			}
		}
		if len(st.cursors) < cursorsKept || oldest == nil {
			return dropped
		}
		dropped = append(dropped, oldest)
		delete(st.cursors, oldestID)
	}
	return dropped
}

func (c *cursor) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.done {
		c.cancel()
		c.stop()
		c.done = true
	}
}

// list returns page n (from 1) of the listing of f that cursor id holds,
// producing the next page when n is one past the last produced. An
// unknown or expired cursor, or one of another filter, starts again.
func (st *State) list(id string, f Filter, n int) (Listing, error) {
	st.mu.Lock()
	c := st.cursors[id]
	st.mu.Unlock()
	restarted := false
	if c == nil || c.filter != f || n <= 1 {
		restarted = c == nil && id != "" && n > 1
		id, c = st.newCursor(f)
		n = 1
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.used = time.Now()
	last := len(c.pages)
	if !c.done {
		last++ // the next page can be produced
	}
	n = min(n, last)
	if n == len(c.pages)+1 {
		if len(c.pages) == maxPages {
			return Listing{}, errTooManyPages
		}
		st.producePage(c)
	}
	if c.err != nil {
		return Listing{}, c.err
	}
	return Listing{
		Filter: f, Cursor: id, Page: n, Restarted: restarted,
		Rows: c.pages[n-1], Examined: c.examined[n-1], More: !c.done || n < len(c.pages),
	}, nil
}

type listingError string

func (e listingError) Error() string { return string(e) }

const errTooManyPages = listingError("this listing has reached its last page: narrow the filter")

// producePage reads entries until a page is full, the budget is spent or
// the scan ends. c.mu is held.
func (st *State) producePage(c *cursor) {
	now := st.src.Now()
	rows := make([]Row, 0, PageSize)
	examined := 0
	if len(c.examined) > 0 {
		examined = c.examined[len(c.examined)-1]
	}
	for spent := 0; spent < Budget && len(rows) < PageSize; spent++ {
		e, ok := c.next()
		if !ok {
			c.done = true
			c.cancel()
			c.stop()
			break
		}
		examined++
		if c.filter.selects(e, now, st.src.RedactURL) {
			rows = append(rows, rowOf(e, now, st.src.RedactURL))
		}
	}
	c.pages = append(c.pages, rows)
	c.examined = append(c.examined, examined)
}
