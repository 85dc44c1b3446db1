// Package model is the oracle's reference model of a private HTTP cache with
// reqcache's documented settings: given what the callers sent, what the
// origin served and what each caller got, it says which answers a correct
// cache could not have given. It is written from RFC 9111, RFC 9110 and
// reqcache's docs, and imports nothing of reqcache (model_test.go checks),
// so that a rule wrong in the code is not wrong here the same way.
//
// The model is a checker, not a second cache: it does not predict which
// answer comes; it accepts every answer some correct cache could give
// (missing the cache is always allowed) and names the rule an answer
// breaks. Where the documents leave a choice to the cache, it accepts each
// choice.
package model

import (
	"net/http"
	"time"
)

// Trace is one run: the settings, every answer a caller got (one per
// redirect hop), and every exchange the origin served, each stamped with
// the order of events (Seq) and the virtual time.
type Trace struct {
	Settings  Settings
	Answers   []*Answer
	Exchanges []*Exchange
	// Syncs are the moments (Seq) by which every process's memory tier
	// had read the invalidations the others made before (Settings.Fleet).
	Syncs []int64
}

// Settings are the cache's settings as the model reads them (the TOML keys
// of docs/configuration.md that the oracle varies).
type Settings struct {
	CacheControl        bool
	SeparateCredentials bool
	ExpireAfter         Lifetime // the zero Lifetime: never expires
	// ExpireAfterSet: expire_after was written (heuristic freshness yields
	// to it when it is a duration).
	ExpireAfterSet       bool
	StaleIfError         Limit
	StaleWhileRevalidate Limit
	MatchHeaders         []string
	MaxBodyBytes         int64
	Methods              []string // allowable_methods
	Codes                []int    // allowable_codes
	AlwaysRevalidate     bool
	// HeuristicMax caps heuristic freshness; Heuristic false turns it off.
	Heuristic    bool
	HeuristicMax time.Duration
	// URLRules are urls_expire_after: the first whose path prefix matches.
	URLRules []URLRule
	// IgnoredParameters name credentials carried in queries and bodies and
	// headers beyond the built-in credential headers.
	IgnoredParameters []string
	// Fleet: the requests are made through several processes sharing one
	// store, each with a memory tier of its own in front of it
	// (docs/mongodb.md, coherence). A process's memory tier learns what
	// another process invalidated by the next sync (Trace.Syncs), and
	// keeps what it holds when another process stores a newer response or
	// merges a 304 (only invalidations travel).
	Fleet bool
}

// URLRule is one urls_expire_after entry, by path prefix.
type URLRule struct {
	PathPrefix string
	Lifetime   Lifetime
}

// Lifetime is an expiration setting.
type Lifetime struct {
	Kind LifetimeKind
	D    time.Duration // for After
}

// LifetimeKind says what a Lifetime is.
type LifetimeKind int

// Lifetime kinds: as config's expire_after values.
const (
	Never LifetimeKind = iota
	After
	Immediately
	DoNotCache
)

// Limit is a stale_if_error or stale_while_revalidate setting.
type Limit struct {
	On  bool
	Max time.Duration // 0: no bound
}

func (l Limit) allows(staleness time.Duration) bool {
	return l.On && (l.Max == 0 || staleness <= l.Max)
}

// Options are the per-request context options.
type Options struct {
	Disabled, Enabled, OnlyIfCached, Refresh, ForceRefresh bool
	ExpireAfter                                            *Lifetime
}

// Request is one request a caller made (one hop of a redirect chain).
type Request struct {
	Step int // the scenario step; the origin sees it as X-Oracle-Step
	Hop  int
	// Process is the process of a fleet that made the request (0 when
	// there is one).
	Process int
	Method  string // as sent on the wire
	URL     string // absolute, as sent
	Host    string // req.Host; "" for the URL's
	Header  http.Header
	Body    []byte
	Options Options
	// Time is the virtual time the request was made at (the clock does
	// not move while a round runs).
	Time time.Time
}

// Answer is what one request got.
type Answer struct {
	Req        *Request
	Start, End int64 // Seq when the call began and when its body was read
	Err        string
	Status     int
	Header     http.Header
	Body       []byte
	// BodyErr is the error reading the body; Partial: the caller stopped
	// reading early on purpose (then Body is a prefix).
	BodyErr string
	Partial bool
	// What the session said of it (InfoOf): observations, never trusted to
	// decide what was allowed, except Stored as a witness that an entry
	// exists (the model then knows it may be the most recent).
	FromCache, Expired, Revalidated, Stored bool
	// Panic is a panic recovered from RoundTrip.
	Panic string
}

// Exchange is one request the origin served, and its answer.
type Exchange struct {
	ID         int64 // stamped on the response as X-Oracle-Id (never on a 304)
	Step       int
	Method     string
	Path       string // path and query as the origin saw them
	Host       string
	Header     http.Header // the request header as it arrived
	Start, End int64
	Time       time.Time
	Status     int
	RespHeader http.Header
	// Rep is the complete representation the response carries (or a part
	// of: Status 206), Body what was sent.
	Rep  []byte
	Body []byte
	// Cut: the origin broke the body (or the connection) off.
	Cut bool
	// Dropped: the connection was closed before a response.
	Dropped bool
	// Imported is the request an imported line records, when the
	// exchange is not the origin's but a line an import stored at Start
	// (a forged one: its own id, the line's times).
	Imported *Request
}
