package model

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Violation is an answer no correct cache could have given, or a promise
// broken (a panic, an error the origin did not cause).
type Violation struct {
	// Kind names the rule, e.g. "reuse/principal": stable, for known
	// failures and for telling one finding from another while shrinking.
	Kind   string
	Answer *Answer
	Detail string
}

func (v Violation) String() string {
	if v.Answer == nil {
		return v.Kind + ": " + v.Detail
	}
	r := v.Answer.Req
	return fmt.Sprintf("%s: step %d hop %d %s %s: %s", v.Kind, r.Step, r.Hop, r.Method, r.URL, v.Detail)
}

// Check returns the violations in t, at most one per answer (the first
// rule it breaks), in the order of the answers.
func Check(t *Trace) []Violation {
	c := newChecker(t)
	var out []Violation
	for _, a := range t.Answers {
		if v, bad := c.answer(a); bad {
			out = append(out, v)
		}
	}
	return out
}

// checker holds a trace indexed for the rules.
type checker struct {
	s     *Settings
	t     *Trace
	byID  map[int64]*Exchange
	reqOf map[*Exchange]*Request
	ansOf map[*Exchange]*Answer // the answer of the request that made it
	hopOf map[*Exchange]*Answer // the answer of the hop that made the trip, whatever it answered with
	// invalidations are the successful unsafe requests, in start order.
	invalidations []invalidation
}

// invalidation is one unsafe request the origin answered without an
// error: every stored response for its targets is unusable without
// validation once its caller has the answer (RFC 9111 §4.4).
type invalidation struct {
	host    string
	targets []string // normal URLs
	x       *Exchange
	a       *Answer
}

func newChecker(t *Trace) *checker {
	c := &checker{s: &t.Settings, t: t, byID: map[int64]*Exchange{}, reqOf: map[*Exchange]*Request{}, ansOf: map[*Exchange]*Answer{}, hopOf: map[*Exchange]*Answer{}}
	type hop struct {
		step   int
		uri    string
		method string
	}
	answers := map[hop]*Answer{}
	for _, a := range t.Answers {
		answers[hop{a.Req.Step, requestURI(a.Req.URL), a.Req.Method}] = a
	}
	for _, x := range t.Exchanges {
		c.byID[x.ID] = x
		if x.Imported != nil {
			c.reqOf[x] = x.Imported
			continue
		}
		if a := answers[hop{x.Step, x.Path, x.Method}]; a != nil {
			c.reqOf[x] = a.Req
			c.hopOf[x] = a
			// The answer that read this exchange, when its request's
			// answer did (a background refresh's did not).
			if a.Header.Get("X-Oracle-Id") == strconv.FormatInt(x.ID, 10) {
				c.ansOf[x] = a
			}
			if x.Status == http.StatusNotModified && a.End > x.End {
				// The answer that waited for this 304: the update was
				// made by its end (one made in the background has no
				// known end).
				c.ansOf[x] = a
			}
		}
	}
	for _, a := range t.Answers {
		if !isUnsafe(a.Req.Method) || c.s.allows(a.Req.Method) {
			continue
		}
		x := c.ownExchange(a, func(x *Exchange) bool { return !x.Dropped })
		if x == nil || x.Status >= 400 {
			continue
		}
		inv := invalidation{host: targetHost(a.Req), targets: []string{c.s.normalURL(a.Req.URL)}, x: x, a: a}
		base, _ := url.Parse(a.Req.URL)
		for _, h := range []string{"Location", "Content-Location"} {
			if v := x.RespHeader.Get(h); v != "" && base != nil {
				if u, err := base.Parse(v); err == nil && strings.EqualFold(u.Host, base.Host) && u.Scheme == base.Scheme {
					inv.targets = append(inv.targets, c.s.normalURL(u.String()))
				}
			}
		}
		c.invalidations = append(c.invalidations, inv)
	}
	return c
}

func requestURI(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	return u.RequestURI()
}

func isUnsafe(m string) bool {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return false
	}
	return true
}

func (s *Settings) allows(method string) bool { return slices.Contains(s.Methods, method) }

// ownExchange is the exchange the origin served for a's own request (the
// last one: a transport may retry), among those ok accepts.
func (c *checker) ownExchange(a *Answer, ok func(*Exchange) bool) *Exchange {
	var last *Exchange
	uri := requestURI(a.Req.URL)
	for _, x := range c.t.Exchanges {
		if x.Step == a.Req.Step && x.Path == uri && x.Method == a.Req.Method && ok(x) {
			last = x
		}
	}
	return last
}

func violation(a *Answer, kind, format string, args ...any) (Violation, bool) {
	return Violation{Kind: kind, Answer: a, Detail: fmt.Sprintf(format, args...)}, true
}

// answer checks one answer.
func (c *checker) answer(a *Answer) (Violation, bool) {
	r := a.Req
	if a.Panic != "" {
		return violation(a, "panic", "%s", a.Panic)
	}
	onlyIfCached := r.Options.OnlyIfCached || parseCC(r.Header).onlyIfCached
	if r.Options.OnlyIfCached && c.usesCache(r) || parseCC(r.Header).onlyIfCached && c.cacheable(r) {
		// requests-cache's only_if_cached (the option, not the directive)
		// may refresh what stale-while-revalidate let it answer, in the
		// background: a trip whose response is not the answer.
		background := func(x *Exchange) bool {
			return !parseCC(r.Header).onlyIfCached && a.Header.Get("X-Oracle-Id") != strconv.FormatInt(x.ID, 10) && a.Expired
		}
		if x := c.ownExchange(a, func(x *Exchange) bool { return !background(x) }); x != nil {
			return violation(a, "only-if-cached/origin", "the origin served it (exchange %d)", x.ID)
		}
	}
	if a.Err != "" {
		// An error is wrong when the origin answered this very request
		// whole and nothing broke meanwhile. (One that never reached
		// the origin is the transport's: a connection the server closed
		// as the client reused it.)
		served := c.ownExchange(a, func(x *Exchange) bool { return !x.Dropped && !x.Cut })
		if served == nil && connectionError(a.Err) || c.originFailedAround(a) {
			return Violation{}, false
		}
		return violation(a, "error", "the cache failed a request the origin did not fail: %s", a.Err)
	}
	if ce := a.Header.Get("Content-Encoding"); ce != "" && !strings.EqualFold(ce, "identity") && r.Header.Get("Accept-Encoding") == "" {
		// A caller that sends no Accept-Encoding is an http.Get: its
		// Transport asks for gzip and decodes below it, so it never reads
		// a coding from the origin — one it reads came from a response
		// stored for another caller. (One that sends Accept-Encoding
		// decodes itself: without Vary any stored coding may answer it.)
		return violation(a, "coding", "Content-Encoding %q for a request without Accept-Encoding", ce)
	} else if ce != "" && ExcludesCoding(r.Header, ce) {
		// Unless it rules the coding out (identity alone, q=0): the
		// origin never codes for it, so a coded answer was stored for
		// another caller.
		return violation(a, "coding", "Content-Encoding %q for a request whose Accept-Encoding %q excludes it", ce, r.Header.Get("Accept-Encoding"))
	}
	idText := a.Header.Get("X-Oracle-Id")
	if idText == "" {
		if a.Status == http.StatusGatewayTimeout && onlyIfCached {
			return Violation{}, false
		}
		return violation(a, "answer/unknown", "status %d without X-Oracle-Id", a.Status)
	}
	id, _ := strconv.ParseInt(idText, 10, 64)
	e := c.byID[id]
	if e == nil {
		return violation(a, "answer/unknown", "X-Oracle-Id %s was never served", idText)
	}
	if v, bad := c.bytes(a, e); bad {
		return v, bad
	}
	if e.Step == r.Step && e.Path == requestURI(r.URL) && e.Method == r.Method {
		return Violation{}, false // fetched for this request
	}
	if rng := r.Header.Get("X-Ms-Range"); rng != "" && r.Method == http.MethodGet && a.Status == http.StatusOK {
		// Azure's SDKs take the body of an x-ms-range request for the
		// range, whatever the status: a whole body is the wrong bytes
		// unless the origin itself chose to send it for this request.
		return violation(a, "bytes", "status %d with the whole body of exchange %d for x-ms-range %q", a.Status, e.ID, rng)
	}
	return c.reuse(a, e)
}

// overridden reports a request tunnelling another method through its own
// in one of the headers requests-cache treats as method overrides
// (docs/requests-cache.md).
func overridden(r *Request) bool {
	for _, h := range []string{"X-Http-Method-Override", "X-Http-Method", "X-Method-Override"} {
		if o := strings.TrimSpace(r.Header.Get(h)); o != "" && !strings.EqualFold(o, r.Method) {
			return true
		}
	}
	return false
}

// usesCache reports whether the cache is used at all for r.
func (c *checker) usesCache(r *Request) bool {
	return !r.Options.Disabled || r.Options.Enabled
}

// connectionError reports an error of the connection itself, which a
// transport may meet reusing a connection the server closed.
func connectionError(err string) bool {
	for _, s := range []string{"EOF", "connection reset", "broken pipe", "server closed idle connection"} {
		if strings.HasSuffix(err, s) {
			return true
		}
	}
	return false
}

// cacheable reports a request the cache may answer from what it stores:
// not bypassed by Disabled, do_not_cache, a method it does not cache or
// a method override. (Where it is bypassed, the request goes on as it
// is, its only-if-cached for the next cache.)
func (c *checker) cacheable(r *Request) bool {
	if overridden(r) {
		return false
	}
	exp, _ := c.s.requestLifetime(r)
	return c.usesCache(r) && c.s.allows(r.Method) && exp.Kind != DoNotCache
}

// originFailedFor reports an exchange for a's own request that the origin
// failed (a broken connection or an error status outside allowable_codes).
func (c *checker) originFailedFor(a *Answer) bool {
	x := c.ownExchange(a, func(x *Exchange) bool {
		return x.Dropped || x.Status >= 400 && !slices.Contains(c.s.Codes, x.Status)
	})
	return x != nil
}

// originFailedAround reports an exchange the origin broke off while a was
// under way, for the same resource: the error a caller sees then is the
// origin's.
func (c *checker) originFailedAround(a *Answer) bool {
	want := c.s.normalURL(a.Req.URL)
	for _, x := range c.t.Exchanges {
		if (x.Dropped || x.Cut) && x.Start < a.End && x.End > a.Start {
			if q := c.reqOf[x]; q == nil || c.s.normalURL(q.URL) == want {
				return true
			}
		}
	}
	return false
}

// bytes checks that the answer's body is the origin's representation, or
// the part of it the answer says.
func (c *checker) bytes(a *Answer, e *Exchange) (Violation, bool) {
	r := a.Req
	body := a.Body
	rep, sent := e.Rep, e.Body
	if e.RespHeader.Get("Content-Encoding") == "gzip" && a.Header.Get("Content-Encoding") == "" {
		// The Transport decoded what it asked for below the caller: the
		// answer's representation is the decoded one (a gzip body is
		// never cut: sent is all of it).
		plain, ok := gunzip(sent)
		if !ok {
			return violation(a, "bytes", "exchange %d's gzip body does not decode", e.ID)
		}
		rep, sent = plain, plain
	}
	var want []byte
	switch {
	case r.Method == http.MethodHead:
		if len(body) > 0 {
			return violation(a, "bytes", "a HEAD answered with %d body bytes", len(body))
		}
		return Violation{}, false
	case a.Status == http.StatusPartialContent:
		first, last, complete, ok := contentRange(a.Header.Get("Content-Range"))
		if !ok || complete != int64(len(rep)) {
			return violation(a, "bytes", "206 with Content-Range %q for a representation of %d bytes (exchange %d)", a.Header.Get("Content-Range"), len(rep), e.ID)
		}
		if rf, rl, ok := ByteRange(RequestRange(r.Header), complete); !ok || rf != first || rl != last {
			return violation(a, "bytes", "206 %q does not answer Range %q", a.Header.Get("Content-Range"), RequestRange(r.Header))
		}
		want = rep[first : last+1]
	default:
		want = rep
		if e.Status != http.StatusPartialContent {
			want = sent
			if e.Cut {
				want = rep
			}
		}
	}
	complete := !a.Partial && a.BodyErr == ""
	switch {
	case complete && !bytes.Equal(body, want):
		return violation(a, "bytes", "body of %d bytes is not exchange %d's %d (%.40q vs %.40q)", len(body), e.ID, len(want), body, want)
	case !complete && !bytes.HasPrefix(want, body):
		return violation(a, "bytes", "the %d bytes read are not a prefix of exchange %d's", len(body), e.ID)
	case complete && e.Cut:
		return violation(a, "bytes", "exchange %d was cut, answered whole", e.ID)
	case a.BodyErr != "" && !e.Cut && !c.originFailedAround(a):
		return violation(a, "bytes", "reading failed (%s) though exchange %d was whole", a.BodyErr, e.ID)
	}
	return Violation{}, false
}

// reuse checks an answer made from exchange e, which was not made for the
// request: a stored response, a variant, a part, an alias, a shared
// flight. Every rule a correct cache applies before using a stored
// response applies here, whatever path produced it.
func (c *checker) reuse(a *Answer, e *Exchange) (Violation, bool) {
	r := a.Req
	s := c.s
	if overridden(r) {
		return violation(a, "reuse/override", "a request tunnelling a method through %s answered from exchange %d", r.Method, e.ID)
	}
	if !c.usesCache(r) {
		return violation(a, "reuse/disabled", "answered from exchange %d under Disabled", e.ID)
	}
	if !s.allows(r.Method) {
		return violation(a, "reuse/method", "a %s (not cached) answered from exchange %d", r.Method, e.ID)
	}
	if exp, _ := s.requestLifetime(r); exp.Kind == DoNotCache {
		return violation(a, "reuse/do-not-cache", "answered from exchange %d under do_not_cache", e.ID)
	}
	if sc := a.Header.Values("Set-Cookie"); len(sc) > 0 && !c.ownSetCookie(a, sc) {
		return violation(a, "reuse/set-cookie", "exchange %d's Set-Cookie replayed", e.ID)
	}
	q := c.reqOf[e]
	if q == nil {
		return violation(a, "reuse/unknown", "exchange %d has no known request", e.ID)
	}
	target := r
	if alias := c.redirectAlias(a, e); alias != nil {
		target = alias // an alias from r's URL to e's: e answers r as it answers a request for its own URL
	}
	if why := c.storable(e, q); why != "" && !(c.tripEnd(e) > a.Start && (why == "body cut" || why == "larger than max_body_bytes")) &&
		!(why == "body cut" && (a.BodyErr != "" || a.Partial)) {
		// (A caller that joined a trip before its body ended shares the
		// body as it comes: its length and end are not known yet. One
		// that saw the cut, or stopped reading before it, was sharing the
		// flight, not reading a stored copy: the origin's end is only
		// when the handler returned, not when the bytes reached the
		// cache.)
		return violation(a, "reuse/unstorable", "exchange %d (step %d) may not be stored: %s", e.ID, e.Step, why)
	}
	if why := c.equivalent(e, q, target); why != "" {
		return violation(a, "reuse/"+why, "exchange %d was for step %d %s %s (%s)", e.ID, q.Step, q.Method, q.URL, c.describe(e, q, target, why))
	}
	validated := c.validatedFor(a, e)
	if validated == nil && e.Start > a.Start {
		// A trip that began after this request did: what it brought is as
		// new as a trip of this request's own.
		validated = &validation{x: e, at: e.Time, header: e.RespHeader, req: q, end: e.End}
	}
	if validated == nil && c.mustValidate(r, e) && !(c.whyValidate(r, e) == "always_revalidate" && c.originFailedFor(a)) {
		// (always_revalidate asks the origin every time; when it fails,
		// stale_if_error may still answer: the freshness rules decide.)
		return violation(a, "reuse/unvalidated", "exchange %d used without asking the origin (%s)", e.ID, c.whyValidate(r, e))
	}
	if validated != nil && validated.x.Step != r.Step {
		// Another request's trip: shared only when what it brought may
		// be reused without validation — unless the answer came from
		// the cache, fresh, as that trip went on beside it.
		if l, _, _ := c.s.lifetime(e.Status, validated.header, validated.req, validated.at); c.s.staleAtOnce(l, validated.header, validated.at) {
			if _, stale := c.fresh(a, e, q, nil); stale || c.mustValidate(r, e) {
				return violation(a, "reuse/unvalidated", "exchange %d, which needs validation before any reuse, shared from step %d's trip", e.ID, validated.x.Step)
			}
		}
	}
	if v, bad := c.unstorableSince(a, e, q, validated); bad {
		return v, bad
	}
	if v, bad := c.invalidated(a, e, q); bad {
		return v, bad
	}
	if v, bad := c.fresh(a, e, q, validated); bad {
		return v, bad
	}
	if v, bad := c.mostRecent(a, e, q); bad {
		return v, bad
	}
	if s.CacheControl && validated == nil {
		if a.Header.Get("Age") == "" {
			return violation(a, "reuse/no-age", "a stored response (exchange %d) used without validation carries no Age (RFC 9111 §4.2.3)", e.ID)
		}
		return c.age(a, e, q)
	}
	return Violation{}, false
}

// age checks the Age of an answer made from stored exchange e without
// validation: RFC 9111 §4.2.3's current age at the request's time, in
// whole seconds, of the stored response as a validation the cache may
// have applied left it (its Date and Age, counted from when it arrived:
// requests take no virtual time, so there is no response delay).
func (c *checker) age(a *Answer, e *Exchange, q *Request) (Violation, bool) {
	got, err := strconv.ParseInt(a.Header.Get("Age"), 10, 64)
	if err != nil {
		return violation(a, "reuse/age", "Age %q is not a number of seconds", a.Header.Get("Age"))
	}
	var want []int64
	for _, v := range c.applied(a, e, q, c.s.Fleet) {
		age := int64((initialAge(v.header, v.at) + max(0, a.Req.Time.Sub(v.at))) / time.Second)
		if got == age {
			return Violation{}, false
		}
		want = append(want, age)
	}
	return violation(a, "reuse/age", "Age %d from exchange %d, want one of %v (the current age as each validation it may have had left it)", got, e.ID, want)
}

// applied are the validations of e the cache may have applied when a
// began: the last one certainly applied (its caller had the answer), and
// any later one it may have (under way, or made in the background, whose
// merge has no known end). The cache answers from the last it applied.
// With elsewhere, any of them: in a fleet, another process's memory tier
// keeps what it held when this one merged a 304.
func (c *checker) applied(a *Answer, e *Exchange, q *Request, elsewhere bool) []validation {
	var bases []validation
	for i, v := range c.validations(e, q) {
		if v.x.Start >= a.End {
			continue
		}
		if !elsewhere && (i == 0 || c.ansOf[v.x] != nil && v.end < a.Start) {
			bases = bases[:0] // certainly applied: what came before is replaced
		}
		bases = append(bases, v)
	}
	return bases
}

// unstorableSince reports a reuse of e after a 304 made it unstorable: its
// header, updated by the 304 (RFC 9111 §4.3.4), says no-store, so the
// cache must stop using it then. The answer to the request that made that
// 304 is the updated response, for that caller; a validation still under
// way when a began may store it again.
func (c *checker) unstorableSince(a *Answer, e *Exchange, q *Request, validated *validation) (Violation, bool) {
	if !c.s.CacheControl || validated != nil && validated.x.Step == a.Req.Step {
		return Violation{}, false
	}
	var last *validation
	for _, v := range c.validations(e, q)[1:] {
		switch {
		case c.elsewhere(a, v.x, e):
			// (Another process's 304 made it no-store there.)
		case c.ansOf[v.x] != nil && v.end < a.Start:
			last = &v
		case v.x.Start < a.Start:
			return Violation{}, false // under way beside it, or its end unknown
		}
	}
	if last != nil && parseCC(last.header).noStore {
		return violation(a, "reuse/unstorable", "exchange %d used after step %d's 304 (exchange %d) made it no-store", e.ID, last.x.Step, last.x.ID)
	}
	return Violation{}, false
}

// ownSetCookie reports cookies a 304 to a's own conditional request set:
// they are for a's caller (and only for it).
func (c *checker) ownSetCookie(a *Answer, cookies []string) bool {
	x := c.ownExchange(a, func(x *Exchange) bool { return x.Status == http.StatusNotModified })
	return x != nil && slices.Equal(x.RespHeader.Values("Set-Cookie"), cookies)
}

// tripEnd is when a trip was over for the callers that could join it: no
// earlier than the origin's handler returned, and as late as the answer of
// the hop that made it (the cache reads the response, decides and answers
// after the handler returned; a caller arriving meanwhile joins).
func (c *checker) tripEnd(x *Exchange) int64 {
	end := x.End
	if a := c.hopOf[x]; a != nil && a.End > end {
		end = a.End // (ansOf's answer, when there is one, is this one)
	}
	return end
}

func (c *checker) describe(e *Exchange, q, r *Request, why string) string {
	switch why {
	case "principal":
		return fmt.Sprintf("principal %q vs %q", c.s.principal(q), c.s.principal(r))
	case "vary":
		names, _ := varyNames(e.RespHeader)
		var diffs []string
		for _, n := range names {
			diffs = append(diffs, fmt.Sprintf("%s %q vs %q", n, q.Header.Values(n), r.Header.Values(n)))
		}
		return "Vary: " + strings.Join(diffs, ", ")
	}
	return why
}

// redirectAlias returns the request e answers when r reached it through
// a remembered redirect (requests-cache's redirect aliases): a redirect
// from r's URL to e's request's URL, which may be remembered, for a request
// equivalent to r. nil when there is none.
func (c *checker) redirectAlias(a *Answer, e *Exchange) *Request {
	r := a.Req
	q := c.reqOf[e]
	if q == nil || c.s.normalURL(q.URL) == c.s.normalURL(r.URL) {
		return nil
	}
	for _, x := range c.t.Exchanges {
		// The redirect must have ended before the answer did, not before
		// it began: a request that starts beside the one being redirected
		// may look the alias up after that chain has ended (seed 90 on a
		// loaded machine: step 8's HEAD /r answered through step 7's 301).
		if x.Status < 300 || x.Status > 399 || x.End > a.End || x.Dropped {
			continue
		}
		xr := c.reqOf[x]
		if xr == nil || c.equivalent(x, xr, r) != "" || !c.redirectStorable(x) {
			continue
		}
		base, _ := url.Parse(xr.URL)
		loc, err := base.Parse(x.RespHeader.Get("Location"))
		if err != nil || c.s.normalURL(loc.String()) != c.s.normalURL(q.URL) {
			continue
		}
		alias := *r
		alias.URL = loc.String()
		return &alias
	}
	return nil
}

// redirectStorable: a redirect that may be remembered as an alias
// (docs/http-semantics.md): no Set-Cookie, no Vary, not no-store, and
// under cache_control neither no-cache nor (shared across credentials)
// private.
func (c *checker) redirectStorable(x *Exchange) bool {
	h := x.RespHeader
	if h.Get("Set-Cookie") != "" || h.Get("Vary") != "" {
		return false
	}
	d := parseCC(h)
	if d.noStore {
		return false
	}
	private := strings.Contains(strings.ToLower(strings.Join(h.Values("Cache-Control"), ",")), "private")
	return !c.s.CacheControl || !(d.noCache || private && !c.s.SeparateCredentials)
}

// postAsGet reports a response to a POST that is also the response to a
// GET of its URL (RFC 9111 §4, RFC 9110 §9.3.3): with cache_control, POST
// not cached itself, explicit freshness and a Content-Location equal to
// the request's URL.
func (c *checker) postAsGet(e *Exchange, q *Request) bool {
	if q.Method != http.MethodPost || !c.s.CacheControl || c.s.allows(http.MethodPost) {
		return false
	}
	base, err := url.Parse(q.URL)
	if err != nil {
		return false
	}
	cl, err := base.Parse(e.RespHeader.Get("Content-Location"))
	if err != nil || e.RespHeader.Get("Content-Location") == "" || cl.String() != base.String() {
		return false
	}
	d := parseCC(e.RespHeader)
	return d.maxAge > 0 || d.maxAge < 0 && e.RespHeader.Get("Expires") != ""
}

// storable says why the response of exchange e, to request q, may not be
// stored ("" when it may): the one storability decision, made from the
// exchange that produced the response.
func (c *checker) storable(e *Exchange, q *Request) string {
	s := c.s
	h := e.RespHeader
	switch {
	case e.Dropped:
		return "no response"
	case overridden(q):
		return "method override"
	case !c.usesCache(q):
		return "made under Disabled"
	case !s.allows(q.Method) && !c.postAsGet(e, q):
		return "method " + q.Method
	case parseCC(q.Header).noStore:
		return "request no-store"
	}
	status := e.Status
	if status == http.StatusPartialContent {
		status = http.StatusOK
	}
	if !slices.Contains(s.Codes, status) {
		return "status " + strconv.Itoa(e.Status)
	}
	if exp, _ := s.requestLifetime(q); exp.Kind == DoNotCache {
		return "do_not_cache"
	}
	if s.CacheControl && parseCC(h).noStore {
		return "no-store"
	}
	if mt := strings.ToLower(h.Get("Content-Type")); strings.HasPrefix(mt, "text/event-stream") {
		return "event stream"
	}
	names, star := varyNames(h)
	if star {
		return "Vary: *"
	}
	for _, n := range names {
		if s.isCredentialHeader(n) && !s.SeparateCredentials {
			return "Vary on a credential, shared across credentials"
		}
	}
	if h.Get("Set-Cookie") != "" && !s.SeparateCredentials {
		return "Set-Cookie, shared across credentials"
	}
	size := int64(len(e.Rep))
	if h.Get("Content-Encoding") == "gzip" && q.Header.Get("Accept-Encoding") == "" {
		// The Transport asked for gzip below the caller and decoded it:
		// the cache read, and counted, the decoded bytes (seed 11953).
		if plain, ok := gunzip(e.Body); ok {
			size = int64(len(plain))
		}
	}
	if size > s.MaxBodyBytes {
		return "larger than max_body_bytes"
	}
	if e.Cut {
		return "body cut"
	}
	if _, _, why := s.lifetime(e.Status, h, q, e.Time); (why == "immediately" || why == "no-cache") && !hasValidator(h) {
		// Never usable: expire_after "immediately" (as requests-cache),
		// or no-cache, never used stale and not revalidatable. Stale on
		// arrival for any other reason, a response is stored — stale, it
		// answers only where stale use is allowed.
		return why + ", no validator"
	}
	return ""
}

func hasValidator(h http.Header) bool { return h.Get("ETag") != "" || h.Get("Last-Modified") != "" }

// equivalent says how r differs from q in what selects a response ("" when
// e, the response to q, may answer r): method, URL, Host, principal, body,
// matched headers, and the headers e varies on.
func (c *checker) equivalent(e *Exchange, q, r *Request) string {
	return c.equivalentBy(e, q, r, true)
}

// equivalentBy is equivalent; languages false leaves out the selection of
// a response by its language (reqcache's extension: when it finds the
// variant a request names exactly, that one is as suitable).
func (c *checker) equivalentBy(e *Exchange, q, r *Request, languages bool) string {
	s := c.s
	qm := q.Method
	if c.postAsGet(e, q) {
		qm = http.MethodGet
	}
	if !(qm == r.Method || qm == http.MethodGet && r.Method == http.MethodHead) {
		return "method"
	}
	if s.normalURL(q.URL) != s.normalURL(r.URL) {
		return "url"
	}
	if targetHost(q) != targetHost(r) {
		return "host"
	}
	if s.SeparateCredentials && s.principal(q) != s.principal(r) {
		return "principal"
	}
	if qm != http.MethodGet && qm != http.MethodHead && s.bodyForm(q) != s.bodyForm(r) {
		return "body"
	}
	for _, n := range s.MatchHeaders {
		if selected(q.Header, n) != selected(r.Header, n) {
			return "match-headers"
		}
	}
	names, _ := varyNames(e.RespHeader)
	for _, n := range names {
		if s.isCredentialHeader(n) {
			continue // the principal decides (and without separation it is never stored)
		}
		if selected(q.Header, n) != selected(r.Header, n) && !(languages && languageSelects(names, e.RespHeader, r.Header)) {
			return "vary"
		}
	}
	return ""
}

// languageSelects: a response that varies on Accept-Language alone, in
// one Content-Language, answers a request that prefers that language above
// every other (docs/http-semantics.md, Vary).
func languageSelects(names []string, resp, req http.Header) bool {
	if len(names) != 1 || names[0] != "Accept-Language" || len(resp.Values("Content-Language")) != 1 {
		return false
	}
	lang := strings.ToLower(strings.TrimSpace(resp.Get("Content-Language")))
	return lang != "" && !strings.Contains(lang, ",") && topLanguage(req) == lang
}

// mustValidate reports a request that may not be answered from a stored
// response without the origin: ForceRefresh, Refresh, request no-cache,
// always_revalidate (an entry with a validator).
func (c *checker) mustValidate(r *Request, e *Exchange) bool {
	return c.whyValidate(r, e) != ""
}

func (c *checker) whyValidate(r *Request, e *Exchange) string {
	switch {
	case r.Options.ForceRefresh:
		return "ForceRefresh"
	case r.Options.Refresh:
		return "Refresh"
	case parseCC(r.Header).noCache:
		return "request no-cache"
	case c.s.AlwaysRevalidate && hasValidator(e.RespHeader):
		return "always_revalidate"
	}
	return ""
}

// validation is a moment the origin vouched for a stored response: the
// exchange that produced it, or a 304 to a conditional request for an
// equivalent request with its validator.
type validation struct {
	x      *Exchange
	at     time.Time
	header http.Header // the stored header, as updated
	req    *Request    // the request the lifetime is chosen for
	end    int64
}

// validations of e, in order.
func (c *checker) validations(e *Exchange, q *Request) []validation {
	out := []validation{{x: e, at: e.Time, header: e.RespHeader, req: q, end: c.storedBy(e)}}
	merged := e.RespHeader
	// The validators e has had: its own and every 304's since. Two
	// validations may run side by side, each sending what was stored when
	// it began.
	etags, lms := []string{merged.Get("ETag")}, []string{merged.Get("Last-Modified")}
	for _, x := range c.t.Exchanges {
		if x.Status != http.StatusNotModified || x.Start < e.End {
			continue
		}
		xr := c.reqOf[x]
		if xr == nil || c.equivalent(e, q, xr) != "" {
			continue
		}
		inm, ims := x.Header.Get("If-None-Match"), x.Header.Get("If-Modified-Since")
		sent := func(etag string) bool { return etag != "" && strings.Contains(inm, etag) }
		if !(slices.ContainsFunc(etags, sent) || inm == "" && ims != "" && slices.Contains(lms, ims)) {
			continue
		}
		merged = merge(merged, x.RespHeader)
		etags, lms = append(etags, merged.Get("ETag")), append(lms, merged.Get("Last-Modified"))
		end := x.End
		if a := c.ansOf[x]; a != nil {
			end = a.End
		}
		out = append(out, validation{x: x, at: x.Time, header: merged, req: xr, end: end})
	}
	return out
}

// merge is a stored header updated by a 304 (RFC 9111 §3.2).
func merge(stored, notModified http.Header) http.Header {
	out := stored.Clone()
	for k, vs := range notModified {
		switch k {
		case "Content-Length", "Content-Encoding", "Content-Range", "Transfer-Encoding", "Connection", "Keep-Alive", "Te", "Trailer", "Upgrade":
			continue
		}
		out[k] = slices.Clone(vs)
	}
	return out
}

// storedBy is the moment e was certainly stored if it was: when the
// request that read its body had it all (the copy is stored before the
// reader sees the end). Unknown (a body read in the background): never.
func (c *checker) storedBy(e *Exchange) int64 {
	if a := c.ansOf[e]; a != nil && !a.Partial && a.BodyErr == "" && a.Err == "" {
		return a.End
	}
	return 1 << 62
}

// validatedFor returns the validation made for a (a 304 to its own
// conditional request, or to one that started while a waited), or nil.
func (c *checker) validatedFor(a *Answer, e *Exchange) *validation {
	q := c.reqOf[e]
	var first *validation
	for _, v := range c.validations(e, q) {
		if v.x != e && v.x.Start > a.Start && v.x.Start < a.End {
			if v.x.Step == a.Req.Step {
				return &v // the request's own trip, whatever others ran beside it
			}
			if first == nil {
				first = &v
			}
		}
	}
	return first
}

// invalidated reports a reuse of e after an unsafe request to its URL
// made every response stored for it before unusable without validation.
func (c *checker) invalidated(a *Answer, e *Exchange, q *Request) (Violation, bool) {
	vs := c.validations(e, q)
	url, host := c.s.normalURL(q.URL), targetHost(q)
	for _, inv := range c.invalidations {
		if inv.a.End >= a.Start || inv.host != host || !slices.Contains(inv.targets, url) || !c.learned(a, inv.a) {
			continue
		}
		// Valid again when the origin vouched for it after the unsafe
		// request; a race (stored while the unsafe request ran) is let go.
		again := false
		for _, v := range vs {
			if v.x.Start > inv.x.End || v.end >= inv.x.Start {
				again = true
				break
			}
		}
		if !again {
			var notes []string
			if c.s.principal(inv.a.Req) != c.s.principal(q) {
				notes = append(notes, "by another principal")
			}
			if v := e.RespHeader.Values("Vary"); len(v) > 0 {
				notes = append(notes, "a variant: Vary "+strings.Join(v, ", "))
			}
			return violation(a, "reuse/invalidated", "exchange %d was made unusable by step %d %s %s (exchange %d) %v", e.ID, inv.a.Req.Step, inv.a.Req.Method, inv.a.Req.URL, inv.x.ID, notes)
		}
	}
	return Violation{}, false
}

// learned reports whether a's process knew of what another answer's
// request did to the store when a began: its own process always; in a
// fleet, another process's memory tier learns it by the next sync after
// that answer (an invalidation travels; a newer response or a 304's
// update does not, see elsewhere).
func (c *checker) learned(a, by *Answer) bool {
	if !c.s.Fleet || a.Req.Process == by.Req.Process {
		return true
	}
	for _, s := range c.t.Syncs {
		if s > by.End && s < a.Start {
			return true
		}
	}
	return false
}

// elsewhere reports an exchange x another process of a fleet stored or
// merged, which a's process's memory tier may not have while it holds e
// (Settings.Fleet): a newer response or a 304's update stays in that
// process and the shared store until an invalidation, eviction or [memory]
// max_age. A process holds e in its memory tier once it made e's exchange
// or answered a request with e; one that never did read e from the shared
// store, where x is.
func (c *checker) elsewhere(a *Answer, x, e *Exchange) bool {
	q := c.reqOf[x]
	return c.s.Fleet && q != nil && q.Process != a.Req.Process && c.holds(a.Req.Process, e, a.Start)
}

// holds reports whether process p's memory tier may hold e when a request
// begins at start: p made e's exchange, or answered a request with e
// before.
func (c *checker) holds(p int, e *Exchange, start int64) bool {
	if q := c.reqOf[e]; q != nil && q.Process == p {
		return true
	}
	id := strconv.FormatInt(e.ID, 10)
	for _, b := range c.t.Answers {
		if b.Req.Process == p && b.Start < start && b.Header.Get("X-Oracle-Id") == id {
			return true
		}
	}
	return false
}

// lifetimeOf is a freshness lifetime: forever, or d; header says the age
// counts from the response's Date and Age (RFC 9111), else from when the
// cache received it (a lifetime of the settings).
type lifetimeOf struct {
	forever bool
	d       time.Duration
	header  bool
}

// staleAtOnce reports a lifetime over when the response arrives at the
// cache (no-cache, max-age=0, an Age past its max-age, immediately).
func (s *Settings) staleAtOnce(l lifetimeOf, h http.Header, at time.Time) bool {
	if l.forever {
		return false
	}
	if l.header {
		return initialAge(h, at) >= l.d
	}
	return l.d <= 0
}

// requestLifetime is the expiration chosen before the response is known:
// WithExpireAfter > urls_expire_after > expire_after; own reports a
// lifetime the user wrote (any of the first two; a duration for the last).
func (s *Settings) requestLifetime(r *Request) (exp Lifetime, own bool) {
	if r.Options.ExpireAfter != nil {
		return *r.Options.ExpireAfter, true
	}
	if u, err := url.Parse(r.URL); err == nil {
		for _, rule := range s.URLRules {
			if strings.HasPrefix(u.Path, rule.PathPrefix) {
				return rule.Lifetime, true
			}
		}
	}
	if s.ExpireAfterSet {
		// A duration beats heuristic freshness; never and immediately
		// say what becomes of a response with no lifetime: they do not.
		return s.ExpireAfter, s.ExpireAfter.Kind == After
	}
	return Lifetime{Kind: Never}, false
}

// lifetime is a response's freshness lifetime, in the precedence of
// docs/configuration.md: response Cache-Control and Expires (with
// cache_control) > request max-age > WithExpireAfter > urls_expire_after >
// expire_after when written > heuristic freshness (with cache_control) >
// never. ok is false for
// a response that may not be stored for that reason.
func (s *Settings) lifetime(status int, h http.Header, r *Request, at time.Time) (l lifetimeOf, ok bool, why string) {
	reqD := parseCC(r.Header)
	exp, own := s.requestLifetime(r)
	if s.CacheControl {
		d := parseCC(h)
		switch {
		case d.noCache:
			return lifetimeOf{header: true}, true, "no-cache"
		case d.immutable:
			return lifetimeOf{forever: true}, true, ""
		case d.maxAge >= 0:
			return lifetimeOf{d: d.maxAge, header: true}, true, ""
		case len(h.Values("Expires")) > 0:
			e, ok1 := parseDate(h.Get("Expires"))
			date, ok2 := parseDate(h.Get("Date"))
			if !ok2 {
				date = at
			}
			if !ok1 || len(h.Values("Expires")) > 1 {
				return lifetimeOf{header: true}, true, ""
			}
			return lifetimeOf{d: max(0, e.Sub(date)), header: true}, true, ""
		}
		if s.Heuristic && !own && reqD.maxAge < 0 && heuristicStatus(status) {
			if lm, ok := parseDate(h.Get("Last-Modified")); ok {
				date, ok := parseDate(h.Get("Date"))
				if !ok {
					date = at
				}
				if !lm.After(date) { // an age of zero is a lifetime of zero
					life := date.Sub(lm) / 10
					if s.HeuristicMax > 0 {
						life = min(life, s.HeuristicMax)
					}
					return lifetimeOf{d: life, header: true}, true, "heuristic"
				}
			}
		}
	}
	if reqD.maxAge >= 0 {
		return lifetimeOf{d: reqD.maxAge}, true, ""
	}
	switch exp.Kind {
	case After:
		return lifetimeOf{d: exp.D}, true, ""
	case Immediately:
		return lifetimeOf{}, true, "immediately"
	case DoNotCache:
		return lifetimeOf{}, false, "do_not_cache"
	}
	return lifetimeOf{forever: true}, true, ""
}

func heuristicStatus(status int) bool {
	switch status {
	case 200, 203, 204, 206, 300, 301, 308, 404, 405, 410, 414, 501:
		return true
	}
	return false
}

// fresh checks that e, used for a at its time, was fresh for it after
// some validation (or stale where stale use was allowed, and marked so).
func (c *checker) fresh(a *Answer, e *Exchange, q *Request, validated *validation) (Violation, bool) {
	if validated != nil {
		return Violation{}, false
	}
	r := a.Req
	reqD := parseCC(r.Header)
	now := r.Time
	vs := c.validations(e, q)
	bases := c.applied(a, e, q, false)
	type staleBase struct {
		v         validation
		staleness time.Duration
	}
	var stale []staleBase
	for _, v := range vs {
		if v.x.Start >= a.End {
			continue
		}
		l, ok, _ := c.s.lifetime(e.Status, v.header, v.req, v.at)
		if !ok {
			continue
		}
		if l.forever {
			return Violation{}, false
		}
		age := now.Sub(v.at)
		if l.header {
			age += initialAge(v.header, v.at)
		}
		fresh := age < l.d
		if fresh && reqD.maxAge >= 0 && age > reqD.maxAge {
			fresh = false
		}
		if fresh && reqD.minFresh >= 0 && l.d-age < reqD.minFresh {
			fresh = false
		}
		if fresh {
			return Violation{}, false
		}
		if slices.ContainsFunc(bases, func(b validation) bool { return b.x == v.x }) {
			stale = append(stale, staleBase{v, max(0, age-l.d)})
		}
	}
	if len(stale) == 0 {
		return violation(a, "reuse/stale", "exchange %d was never fresh", e.ID)
	}
	allowed := ""
	for _, b := range stale {
		if allowed = c.staleAllowed(a, b.v, b.staleness); allowed != "" {
			break
		}
	}
	if allowed == "" {
		b := stale[0]
		noStale := c.s.CacheControl && (parseCC(b.v.header).mustRevalidate || parseCC(b.v.header).noCache)
		return violation(a, "reuse/stale", "exchange %d stale by %v, no stale use allowed (validated at %v, must-revalidate/no-cache %v)", e.ID, b.staleness, b.v.at.Format(time.TimeOnly), noStale)
	}
	if !a.Expired {
		return violation(a, "reuse/stale-unmarked", "exchange %d served stale by %v (%s) without saying so", e.ID, stale[0].staleness, allowed)
	}
	return Violation{}, false
}

// staleAllowed says what allows a stale answer from a stored response as
// validation v left it ("" when nothing does).
func (c *checker) staleAllowed(a *Answer, v validation, staleness time.Duration) string {
	r := a.Req
	reqD := parseCC(r.Header)
	d := parseCC(v.header)
	noStale := c.s.CacheControl && (d.mustRevalidate || d.noCache)
	switch {
	case noStale:
		return ""
	case reqD.maxStale >= 0 && staleness <= reqD.maxStale:
		return "max-stale"
	case r.Options.OnlyIfCached && c.staleIfErrorPermits(a, d, staleness):
		// only_if_cached: nothing may ask the origin, so a stale answer
		// is what stale-if-error would give when it fails (docs).
		return "only_if_cached"
	case c.staleIfErrorAllowed(a, d, staleness):
		return "stale-if-error"
	case c.s.StaleWhileRevalidate.allows(staleness) || c.s.CacheControl && d.staleWhileRevalidate >= 0 && staleness <= d.staleWhileRevalidate ||
		reqD.staleWhileRevalidate >= 0 && staleness <= reqD.staleWhileRevalidate:
		// (The setting, the response's directive, or the request's own,
		// as requests-cache honours it.)
		return "stale-while-revalidate"
	}
	return ""
}

// staleIfErrorAllowed: the origin failed this request (a broken connection
// or an error status outside allowable_codes) and the setting or the
// response's directive allows this staleness.
func (c *checker) staleIfErrorAllowed(a *Answer, d directives, staleness time.Duration) bool {
	failed := false
	want := c.s.normalURL(a.Req.URL)
	for _, x := range c.t.Exchanges {
		// A failure seen while the request waited: its own trip's, or
		// the trip it joined.
		if c.tripEnd(x) < a.Start || x.Start > a.End {
			continue
		}
		q := c.reqOf[x]
		if q != nil && c.s.normalURL(q.URL) != want {
			continue
		}
		if x.Dropped || x.Status >= 400 && !slices.Contains(c.s.Codes, x.Status) {
			failed = true
		}
	}
	if !failed {
		return false
	}
	return c.staleIfErrorPermits(a, d, staleness)
}

// staleIfErrorPermits: the setting, the request's own stale-if-error or
// (with cache_control) the response's allows this staleness.
func (c *checker) staleIfErrorPermits(a *Answer, d directives, staleness time.Duration) bool {
	if c.s.StaleIfError.allows(staleness) || c.s.CacheControl && d.staleIfError >= 0 && staleness <= d.staleIfError {
		return true
	}
	r := parseCC(a.Req.Header)
	return r.staleIfError >= 0 && staleness <= r.staleIfError
}

// mostRecent reports a reuse of e when a newer response, stored before the
// request began, would answer it too (RFC 9111 §4: the most recent one).
func (c *checker) mostRecent(a *Answer, e *Exchange, q *Request) (Violation, bool) {
	r := a.Req
	if RequestRange(r.Header) != "" {
		return Violation{}, false
	}
	for _, e2 := range c.t.Exchanges {
		a2 := c.ansOf[e2]
		if e2 == e || a2 == nil || !a2.Stored || a2.Partial || a2.BodyErr != "" || a2.End >= a.Start || e2.Start <= e.End || e2.Status == http.StatusPartialContent || c.elsewhere(a, e2, e) {
			continue
		}
		q2 := c.reqOf[e2]
		if q2.Method != r.Method || c.storable(e2, q2) != "" || c.equivalentBy(e2, q2, r, false) != "" {
			// (A stored GET may answer a HEAD, but a cache that keys the
			// methods apart answers it from the HEAD's.)
			continue
		}
		if _, bad := c.invalidated(a, e2, q2); bad {
			continue
		}
		// e answers as newer if the origin vouched for it after e2.
		newer := false
		for _, v := range c.validations(e, q) {
			if v.x.Start > e2.End {
				newer = true
			}
		}
		if newer || c.replacedLater(e2, q2, a) {
			continue
		}
		if c.storedBy(e) > e2.Start {
			// e may have been stored after e2 (two trips for one key at
			// once, the older body ending later): a race the model lets
			// go, as it does for invalidation.
			continue
		}
		return violation(a, "reuse/not-most-recent", "exchange %d answered though exchange %d (step %d), newer and stored, answers it too", e.ID, e2.ID, q2.Step)
	}
	return Violation{}, false
}

// replacedLater reports a response for e2's URL stored after it that
// varies differently: it may have taken e2's place in the cache.
func (c *checker) replacedLater(e2 *Exchange, q2 *Request, a *Answer) bool {
	n2, _ := varyNames(e2.RespHeader)
	for _, e3 := range c.t.Exchanges {
		q3 := c.reqOf[e3]
		if q3 == nil || e3.Start <= e2.End || e3.Start >= a.Start || c.s.normalURL(q3.URL) != c.s.normalURL(q2.URL) {
			continue
		}
		if c.storable(e3, q3) != "" {
			continue
		}
		n3, _ := varyNames(e3.RespHeader)
		if !slices.Equal(n2, n3) {
			return true
		}
	}
	return false
}

// Summary lists a trace's answers and exchanges, one line each, for a
// report.
func Summary(t *Trace) string {
	type line struct {
		seq  int64
		text string
	}
	var lines []line
	for _, a := range t.Answers {
		r := a.Req
		opts := ""
		if r.Options != (Options{}) {
			opts = fmt.Sprintf(" %+v", r.Options)
		}
		got := fmt.Sprintf("status %d id %s", a.Status, a.Header.Get("X-Oracle-Id"))
		if a.Err != "" {
			got = "error " + a.Err
		}
		process := ""
		if r.Process != 0 {
			process = fmt.Sprintf(" (process %d)", r.Process)
		}
		lines = append(lines, line{a.Start, fmt.Sprintf("[%d-%d] t=%s step %d.%d%s %s %s%s → %s %q", a.Start, a.End, r.Time.Format(time.TimeOnly), r.Step, r.Hop, process, r.Method, requestURI(r.URL), opts, got, a.Header.Get("Cache-Status"))})
	}
	for _, s := range t.Syncs {
		lines = append(lines, line{s, fmt.Sprintf("[%d] every memory tier has read the others' invalidations", s)})
	}
	for _, x := range t.Exchanges {
		by := "origin"
		if x.Imported != nil {
			by = "import"
		}
		lines = append(lines, line{x.Start, fmt.Sprintf("[%d-%d]   %s: step %d %s %s → %d id %d%s", x.Start, x.End, by, x.Step, x.Method, x.Path, x.Status, x.ID, ccText(x))})
	}
	sort.SliceStable(lines, func(i, j int) bool { return lines[i].seq < lines[j].seq })
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(l.text)
		b.WriteByte('\n')
	}
	return b.String()
}

func ccText(x *Exchange) string {
	var parts []string
	for _, h := range []string{"Cache-Control", "Vary", "ETag", "Content-Location", "Location"} {
		if v := x.RespHeader.Get(h); v != "" {
			parts = append(parts, h+": "+v)
		}
	}
	if x.Cut {
		parts = append(parts, "cut")
	}
	if x.Dropped {
		parts = append(parts, "dropped")
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, "; ") + ")"
}
