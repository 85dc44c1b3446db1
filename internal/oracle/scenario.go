// Package oracle hunts wrong answers: it drives a session with seeded
// random exchanges against a scripted origin and checks every answer
// against an independent reference model (package model). A violation is
// reported with its seed and a shrunk scenario that pastes into
// regressions_test.go as a test. docs/reliability.md says what it models
// and how to run it long.
package oracle

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Scenario is one run: the settings, then rounds of requests. The
// requests of a round start together (each after its Delay) on the same
// virtual time; the clock moves only between rounds.
type Scenario struct {
	Seed     int64
	Settings Settings
	Rounds   []Round
}

// Settings are the cache settings a scenario varies (TOML keys).
type Settings struct {
	CacheControl         bool
	SeparateCredentials  bool
	ExpireAfter          string // "" (unset), "30s", "immediately", "do_not_cache"
	StaleIfError         string // "" (false), "true", "20s"
	StaleWhileRevalidate string
	MatchVariant         bool // match_headers = ["X-Variant"]
	MaxBodyBytes         int64
	CachePOST            bool // POST in allowable_methods
	AlwaysRevalidate     bool
	// URLRule is urls_expire_after for the origin's /b paths ("": none).
	URLRule string
}

// Round is requests made together, after the clock moves Advance seconds.
type Round struct {
	Advance  int
	Requests []Request
}

// Request is one caller's request, and what the origin answers it.
type Request struct {
	Step     int
	Delay    int    // milliseconds after the round starts
	Method   string // on the wire
	Override string // X-HTTP-Method-Override, X-HTTP-Method or X-Method-Override (by step)
	Path     string // "/a", "/c?x=1&y=2", "/r" (redirects to /a)
	Host     string // a Host other than the origin's address
	Who      string // "alice", "bob" or "" (anonymous)
	Where    string // where the credential goes: bearer, basic, cookie, api-key, sigv4, sharedkey, query, presigned, form, json, sdk (Creds)
	// SDK names the SDK whose request shape the step has (withSDKShape),
	// and Creds its credentials' slots ("h:Name" or "q:name") and value
	// classes, filled in for Who by build.
	SDK      string
	Creds    map[string]string
	Header   map[string]string
	Body     string // "form", "json" or "multipart" (its fields in one of two orders: "form2", ...), or "badmultipart" (does not parse)
	Options  []string
	Deadline bool   // a context with a deadline (the cancellable path)
	Read     string // "" reads the body whole; "close" stops after a few bytes
	// Import makes the step an import instead of a request: "replay"
	// exports the cache and imports the export (trusted keys), as a
	// program restoring a file would; "forge:<how>" imports one stored
	// line for the step's URL, forged (untrusted), as an attacker who can
	// write an import file would: "set-cookie", "no-store", "status" (a
	// 203), "key" (another stored line's key) or "plain" (a new id only).
	Import string
	// Process is the process of a fleet (Env.Fleet) that makes the step.
	Process int
	Reply   Reply
}

// Reply is what the origin answers a step with (the target of a redirect
// gets the same reply as a 200).
type Reply struct {
	Status       int
	CacheControl string
	Expires      int // seconds after Date; -1: an invalid date
	ETag         string
	LastModified bool
	Age          int
	DateOffset   int // seconds the Date lags the clock by
	Vary         string
	// ContentLocation "self": the request's URL; Location for 201/3xx.
	ContentLocation string
	Location        string
	SetCookie       bool
	Chunked         bool
	Slow            bool
	Cut             bool
	Drop            bool
	Size            int
	No304           bool
	NoRange         bool
	EventStream     bool
	// NilBody: the upstream hands a body-less response over with a nil
	// Body (as test doubles and some RoundTrippers do).
	NilBody bool
	// Gzip: a GET that accepts gzip gets its body gzip-coded.
	Gzip bool
	// On304 is what a 304 to this step's conditional request says beyond
	// the reply's validators and freshness: "set-cookie", "credential" (a
	// Content-Location carrying a token), "no-store" or "max-age" (a new
	// Cache-Control: max-age=600).
	On304 string
}

// Spread gives the steps of a scenario to the processes of a fleet of
// two, drawn from a source of the seed's own (the rest of the scenario is
// the seed's as Generate made it). An unsafe request goes, more often
// than not, through the process that did not read its path last, and the
// next read of the path through the one that did: its memory tier holds
// what the other invalidated.
func (sc Scenario) Spread() Scenario {
	r := rand.New(rand.NewPCG(uint64(sc.Seed), 0x5eed0f1ee7))
	lastReader := map[string]int{}
	written := map[string]bool{}
	rounds := make([]Round, len(sc.Rounds))
	for i, round := range sc.Rounds {
		round.Requests = slices.Clone(round.Requests)
		for j := range round.Requests {
			req := &round.Requests[j]
			path, _, _ := strings.Cut(req.Path, "?")
			req.Process = r.IntN(2)
			reader, read := lastReader[path]
			switch safe := req.Method == "GET" || req.Method == "HEAD"; {
			case safe && written[path] && read && r.Float64() < 0.8:
				req.Process = reader
				written[path] = false
			case safe:
				lastReader[path] = req.Process
			case read && r.Float64() < 0.8:
				req.Process = 1 - reader
				written[path] = true
			}
		}
		rounds[i] = round
	}
	sc.Rounds = rounds
	return sc
}

// Generate makes the scenario of a seed: rounds rounds, drawn to meet
// often on a few URLs, principals and variants.
func Generate(seed int64, rounds int) Scenario {
	g := gen{r: rand.New(rand.NewPCG(uint64(seed), uint64(seed)>>32^0x9e3779b97f4a7c15)), sdk: sdkRand(seed)}
	sc := Scenario{Seed: seed, Settings: g.settings()}
	step := 0
	var earlier []Request
	var wrote *Request // the last unsafe request (a copy): read after it, often
	var asked *Request // the last request with an option whose reply varies: read again, often
	for i := 0; i < rounds; i++ {
		n := g.pick(1, 1, 1, 1, 2, 2, 2, 3, 4)
		round := Round{Advance: g.pick(0, 0, 0, 0, 1, 3, 6, 11, 31, 61, 3601)}
		for j := 0; j < n; j++ {
			step++
			var r Request
			switch {
			case j == 0 && wrote != nil && g.chance(0.5):
				// A read after a write, by its writer or another: what
				// invalidation and a POST stored as its GET must get right.
				r = g.sibling(*wrote, step, &sc.Settings)
				r.Method, r.Body, r.Override = "GET", "", ""
				if g.chance(0.5) || r.Where == "form" || r.Where == "json" {
					r.Who, r.Where = "", ""
				}
				wrote = nil
			case j == 0 && asked != nil && g.chance(0.7):
				// A plain read after a refresh that brought a Vary: the
				// variant that refresh stored answers it, not what the
				// URL held before.
				r = g.sibling(*asked, step, &sc.Settings)
				r.Header, r.Options = cloneMap(asked.Header), nil
				asked = nil
			case j > 0 && g.chance(0.6):
				// A sibling of a request of this round: it may join its
				// trip, or race it.
				r = g.sibling(round.Requests[g.r.IntN(j)], step, &sc.Settings)
			case len(earlier) > 0 && g.chance(0.05):
				// An import of what the cache holds for an earlier
				// request's URL: the cache's own export, or a line forged
				// from it.
				r = g.sibling(earlier[g.r.IntN(len(earlier))], step, &sc.Settings)
				r.Import = g.one("replay", "replay", "forge:set-cookie", "forge:no-store", "forge:status", "forge:key", "forge:plain")
				r.Method, r.Body, r.Override, r.Options = "GET", "", "", nil
			case len(earlier) > 0 && g.chance(0.45):
				// The same request again later: a hit, a revalidation,
				// or an answer that must not come from the cache.
				r = g.sibling(earlier[g.r.IntN(len(earlier))], step, &sc.Settings)
			default:
				r = g.request(step, &sc.Settings)
			}
			round.Requests = append(round.Requests, r)
			if r.Method != "GET" && r.Method != "HEAD" {
				w := r
				wrote = &w
			}
			if len(r.Options) > 0 && r.Reply.Vary != "" {
				a := r
				asked = &a
			}
		}
		earlier = append(earlier, round.Requests...)
		sc.Rounds = append(sc.Rounds, round)
	}
	return sc
}

// sibling is a request for what r asked for, with a few of its parts
// drawn again: its method, credential, headers or options, and a new
// reply.
func (g gen) sibling(r Request, step int, s *Settings) Request {
	fresh := g.request(step, s)
	c := r
	c.Step = step
	c.Header = cloneMap(r.Header)
	c.Options = nil
	c.Delay = fresh.Delay
	c.Deadline = fresh.Deadline
	c.Read = fresh.Read
	if g.chance(0.25) {
		c.Method, c.Body, c.Override = fresh.Method, fresh.Body, fresh.Override
		if c.Path == "/r" && c.Method != "GET" && c.Method != "HEAD" {
			c.Path = "/a"
		}
	}
	if g.chance(0.25) {
		c.Who, c.Where = fresh.Who, fresh.Where
		if (c.Where == "form" || c.Where == "json") && c.Body == "" || c.Where == "sdk" && len(c.Creds) == 0 {
			c.Where = "bearer"
		}
		if c.Who != "" && len(c.Creds) > 0 && g.chance(0.5) {
			c.Where = "sdk" // the credentials of its own SDK shape (a SAS's signature belongs with its grant)
		}
	}
	if r.Method == "POST" && g.chance(0.4) {
		// After a write, someone reads what it said: a GET, often by
		// another principal.
		c.Method, c.Body, c.Override = "GET", "", ""
		if g.chance(0.5) {
			c.Who, c.Where = "", ""
		}
		if c.Where == "form" || c.Where == "json" {
			c.Where = "query"
		}
	}
	for _, h := range []string{"Accept-Language", "Accept", "X-Variant", "Range", "Cache-Control", "Pragma", "Accept-Encoding"} {
		if g.chance(0.2) {
			if v, ok := fresh.Header[h]; ok {
				c.Header[h] = v
			} else {
				delete(c.Header, h)
			}
		}
	}
	if g.chance(0.08) {
		// A client that refuses the codings another one accepted reads
		// the same URL (a stored coded body must not answer it).
		c.Header["Accept-Encoding"] = g.one("identity", "gzip;q=0", "*;q=0")
	}
	if g.chance(0.35) {
		c.Options = fresh.Options
		if len(c.Options) == 0 {
			c.Options = []string{g.one("force-refresh", "refresh", "only-if-cached", "disabled")}
		}
	}
	c.Reply = fresh.Reply
	if g.chance(0.5) {
		// The origin answers as it did, but for the id.
		c.Reply = r.Reply
	}
	switch {
	case g.chance(0.12):
		// The origin fails this time: stale-if-error's moment.
		c.Reply.Status = g.pick(500, 503)
		c.Reply.Drop = g.chance(0.3)
	case (slices.Contains(c.Options, "refresh") || slices.Contains(c.Options, "force-refresh")) && g.chance(0.6):
		// Asked again on purpose, the origin now negotiates differently,
		// otherwise answering as it did (as storable as before).
		c.Reply = r.Reply
		c.Reply.Vary = g.one("Accept", "Accept-Language", "X-Variant")
	}
	if c.Method != "GET" && c.Method != "HEAD" && c.Reply.Location == "/a" && c.Path != "/r" {
		c.Reply = fresh.Reply
	}
	if (c.Method == "GET" || c.Method == "HEAD") && c.Path != "/r" && c.Reply.Location != "" {
		// A read of what a write redirected to: no redirect of its own
		// (it would point at itself).
		c.Reply.Status, c.Reply.Location = 200, ""
	}
	return c
}

type gen struct {
	r   *rand.Rand
	sdk *rand.Rand // the SDK shapes' own source (sdkshapes.go)
}

func (g gen) chance(p float64) bool { return g.r.Float64() < p }

func (g gen) pick(vs ...int) int { return vs[g.r.IntN(len(vs))] }

func (g gen) one(vs ...string) string { return vs[g.r.IntN(len(vs))] }

func (g gen) settings() Settings {
	s := Settings{
		CacheControl:        g.chance(0.65),
		SeparateCredentials: g.chance(0.75),
		MaxBodyBytes:        16 << 20,
	}
	s.ExpireAfter = g.one("", "", "", "", "30s", "30s", "5s", "immediately", "do_not_cache")
	s.StaleIfError = g.one("", "", "", "true", "20s")
	s.StaleWhileRevalidate = g.one("", "", "", "", "true", "10s")
	s.MatchVariant = g.chance(0.15)
	if g.chance(0.2) {
		s.MaxBodyBytes = 120
	}
	s.CachePOST = g.chance(0.12)
	s.AlwaysRevalidate = g.chance(0.08)
	if g.chance(0.2) {
		s.URLRule = g.one("10s", "do_not_cache", "immediately")
	}
	return s
}

func (g gen) request(step int, s *Settings) Request {
	r := Request{Step: step, Header: map[string]string{}}
	switch m := g.r.IntN(100); {
	case m < 56:
		r.Method = "GET"
	case m < 63:
		r.Method = "HEAD"
	case m < 77:
		r.Method = "POST"
	case m < 88:
		r.Method = "PUT"
	default:
		r.Method = "DELETE"
	}
	r.Path = g.one("/a", "/a", "/b", "/c?x=1&y=2", "/c?y=2&x=1", "/r")
	if r.Method != "GET" && r.Method != "HEAD" && r.Path == "/r" {
		r.Path = "/a"
	}
	if g.chance(0.06) {
		switch r.Method {
		case "HEAD", "POST":
			r.Override = "GET"
		case "GET":
			r.Override = g.one("PUT", "DELETE")
		}
	}
	if g.chance(0.12) {
		r.Host = "tenant.example"
	}
	if g.chance(0.6) {
		r.Who = g.one("alice", "bob")
		r.Where = g.one("bearer", "bearer", "basic", "cookie", "api-key", "sigv4", "query", "sharedkey")
		if r.Method == "POST" || r.Method == "PUT" {
			r.Where = g.one(r.Where, "form", "json", "form", "json")
		}
		if r.Where == "query" && step%2 == 0 {
			// A SigV4 presigned URL, every other time: drawn without the
			// random source, so that earlier seeds keep their scenarios.
			r.Where = "presigned"
		}
	}
	if r.Method == "POST" || r.Method == "PUT" {
		r.Body = g.one("form", "form2", "json", "json2", "multipart", "badmultipart")
		if r.Where == "json" {
			r.Body = g.one("json", "json2")
		}
		if r.Where == "form" {
			r.Body = g.one("form", "form2", "multipart", "multipart2")
		}
	}
	if v := g.one("", "", "", "de", "fr;q=0.5, de", "de, fr;q=0.5", "en", "EN", "fr"); v != "" {
		r.Header["Accept-Language"] = v
	}
	if v := g.one("", "", "", "application/json", "text/html"); v != "" {
		r.Header["Accept"] = v
	}
	if v := g.one("", "", "", "1", "2"); v != "" {
		r.Header["X-Variant"] = v
	}
	if g.chance(0.25) {
		r.Header["Accept-Encoding"] = g.one("gzip", "gzip", "gzip, br", "br", "*", "gzip;q=0", "identity", "*;q=0")
	}
	if r.Method == "GET" && g.chance(0.08) {
		r.Header["Range"] = g.one("bytes=0-9", "bytes=5-", "bytes=-4", "bytes=0-9,20-29")
	}
	if g.chance(0.14) {
		r.Header["Cache-Control"] = g.one("no-cache", "no-store", "max-age=0", "max-age=5", "max-stale", "max-stale=30", "min-fresh=20", "only-if-cached", "stale-while-revalidate=30")
	} else if r.Method == "POST" && g.chance(0.15) {
		r.Header["Cache-Control"] = "no-store" // a POST whose answer must not be kept, as its GET either
	} else if g.chance(0.02) {
		r.Header["Pragma"] = "no-cache"
	}
	if g.chance(0.16) {
		r.Options = []string{g.one("disabled", "disabled+enabled", "only-if-cached", "refresh", "force-refresh", "force-refresh", "expire=30s", "expire=immediately", "expire=do_not_cache")}
	}
	g.withSDKShape(&r)
	r.Delay = g.pick(0, 0, 1, 2, 5, 12)
	r.Deadline = g.chance(0.3)
	if g.chance(0.1) {
		r.Read = "close"
	}
	r.Reply = g.reply(&r, s)
	return r
}

func (g gen) reply(r *Request, s *Settings) Reply {
	p := Reply{Status: 200, Size: g.pick(20, 40, 90, 200)}
	unsafe := r.Method != "GET" && r.Method != "HEAD"
	switch {
	case unsafe:
		p.Status = g.pick(200, 200, 200, 204, 204, 201, 303, 400, 500)
		if p.Status == 201 || p.Status == 303 {
			p.Location = g.one("/b", "/a")
		}
	case r.Path == "/r":
		p.Status = g.pick(301, 302, 307, 302)
		p.Location = "/a"
	default:
		p.Status = g.pick(200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 404, 500, 503)
	}
	p.CacheControl = g.one("", "", "", "max-age=60", "max-age=60", "max-age=5", "max-age=0", "no-cache", "no-store",
		"private, max-age=60", "max-age=60, must-revalidate", "max-age=10, stale-while-revalidate=30",
		"max-age=10, stale-if-error=60", "immutable", "s-maxage=60")
	if g.chance(0.1) {
		p.Expires = g.pick(30, -1, 90)
	}
	switch x := g.r.IntN(100); {
	case x < 35:
		p.ETag = "strong"
	case x < 50:
		p.ETag = "weak"
	}
	p.LastModified = g.chance(0.3)
	if g.chance(0.05) {
		p.Age = 10
	}
	if g.chance(0.05) {
		p.DateOffset = 20
	}
	if g.chance(0.32) {
		p.Vary = g.one("Accept-Language", "Accept-Language", "Accept", "Accept-Language, X-Variant", "X-Variant", "Accept-Encoding", "*", "Authorization", "Cookie")
	}
	if r.Method == "POST" && g.chance(0.7) || unsafe && g.chance(0.15) {
		p.ContentLocation = "self"
		if r.Method == "POST" && g.chance(0.7) {
			p.CacheControl = "max-age=60" // a POST answer that is also its URL's GET (RFC 9111 §4)
		}
	}
	p.SetCookie = g.chance(0.1)
	p.Chunked = g.chance(0.3)
	p.Slow = g.chance(0.2)
	p.Cut = g.chance(0.04)
	p.Drop = g.chance(0.03)
	p.No304 = g.chance(0.1)
	p.NoRange = g.chance(0.3)
	p.EventStream = g.chance(0.03)
	p.NilBody = g.chance(0.04)
	p.Gzip = g.chance(0.3)
	if g.chance(0.25) {
		p.On304 = g.one("set-cookie", "credential", "credential", "no-store", "max-age")
	}
	if s.MaxBodyBytes < 1000 && g.chance(0.3) {
		p.Size = 300
	}
	return p
}

// GoString prints the scenario as Go, only the fields that are set, for
// pasting into regressions_test.go.
func (sc Scenario) GoString() string {
	var b strings.Builder
	b.WriteString("Scenario")
	writeGo(&b, reflect.ValueOf(sc), 0)
	return b.String()
}

func writeGo(b *strings.Builder, v reflect.Value, depth int) {
	indent := strings.Repeat("\t", depth)
	switch v.Kind() {
	case reflect.Struct:
		b.WriteString("{")
		wrote := false
		for i := 0; i < v.NumField(); i++ {
			f := v.Field(i)
			if f.IsZero() || f.Kind() == reflect.Map && f.Len() == 0 {
				continue
			}
			if multiline(v.Type()) {
				b.WriteString("\n" + indent + "\t")
			} else if wrote {
				b.WriteString(", ")
			}
			b.WriteString(v.Type().Field(i).Name + ": ")
			if f.Kind() == reflect.Struct {
				b.WriteString(f.Type().Name()) // a field's composite literal names its type
			}
			writeGo(b, f, depth+1)
			if multiline(v.Type()) {
				b.WriteString(",")
			}
			wrote = true
		}
		if multiline(v.Type()) && wrote {
			b.WriteString("\n" + indent)
		}
		b.WriteString("}")
	case reflect.Slice:
		elem := v.Type().Elem()
		if elem.Kind() == reflect.Struct {
			b.WriteString("[]" + elem.Name() + "{")
			for i := 0; i < v.Len(); i++ {
				b.WriteString("\n" + indent + "\t")
				writeGo(b, v.Index(i), depth+1)
				b.WriteString(",")
			}
			b.WriteString("\n" + indent + "}")
			return
		}
		b.WriteString("[]" + elem.Name() + "{")
		for i := 0; i < v.Len(); i++ {
			if i > 0 {
				b.WriteString(", ")
			}
			writeGo(b, v.Index(i), depth+1)
		}
		b.WriteString("}")
	case reflect.Map:
		if v.Len() == 0 {
			b.WriteString("nil")
			return
		}
		b.WriteString("map[string]string{")
		keys := v.MapKeys()
		names := make([]string, len(keys))
		for i, k := range keys {
			names[i] = k.String()
		}
		sort.Strings(names)
		for i, k := range names {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(b, "%q: %q", k, v.MapIndex(reflect.ValueOf(k)).String())
		}
		b.WriteString("}")
	case reflect.String:
		b.WriteString(strconv.Quote(v.String()))
	default:
		fmt.Fprintf(b, "%v", v.Interface())
	}
}

// multiline: the types printed one field a line.
func multiline(t reflect.Type) bool {
	return t == reflect.TypeOf(Scenario{}) || t == reflect.TypeOf(Round{})
}

// Steps is the number of requests in the scenario.
func (sc Scenario) Steps() int {
	n := 0
	for _, r := range sc.Rounds {
		n += len(r.Requests)
	}
	return n
}
