package oracle

import (
	"context"
	"strconv"
	"time"

	"github.com/reqcache/reqcache/internal/oracle/model"
)

// Shrink looks for a smaller scenario that still breaks a rule of kind:
// fewer rounds and requests, rounds made sequential, fields of requests,
// replies and settings set back to their zero values. Runs are not exactly
// repeatable (goroutines interleave), so each candidate gets tries runs.
// It stops when nothing more can go, or after budget.
func Shrink(ctx context.Context, sc Scenario, env Env, kind string, budget time.Duration, tries int) (Scenario, *Result) {
	deadline := time.Now().Add(budget)
	var last *Result
	fails := func(c Scenario) bool {
		if time.Now().After(deadline) {
			return false
		}
		for i := 0; i < tries; i++ {
			r := Run(ctx, c, env)
			for _, v := range r.Violations {
				if v.Kind == kind {
					last = r
					return true
				}
			}
		}
		return false
	}
	for progress := true; progress && time.Now().Before(deadline); {
		progress = false
		// Whole rounds, in chunks from half down to one.
		for size := len(sc.Rounds) / 2; size >= 1; size /= 2 {
			for i := 0; i+size <= len(sc.Rounds); {
				c := sc
				c.Rounds = append(append([]Round(nil), sc.Rounds[:i]...), sc.Rounds[i+size:]...)
				if len(c.Rounds) > 0 && fails(c) {
					sc, progress = c, true
					continue
				}
				i += size
			}
		}
		// Single requests, and rounds made one request at a time.
		for i := 0; i < len(sc.Rounds); i++ {
			for j := 0; j < len(sc.Rounds[i].Requests) && len(sc.Rounds[i].Requests) > 1; {
				c := sc.withRound(i, func(r *Round) {
					r.Requests = append(append([]Request(nil), r.Requests[:j]...), r.Requests[j+1:]...)
				})
				if fails(c) {
					sc, progress = c, true
					continue
				}
				j++
			}
			if n := len(sc.Rounds[i].Requests); n > 1 {
				c := sc
				c.Rounds = append([]Round(nil), sc.Rounds[:i]...)
				for j, r := range sc.Rounds[i].Requests {
					round := Round{Requests: []Request{r}}
					if j == 0 {
						round.Advance = sc.Rounds[i].Advance
					}
					c.Rounds = append(c.Rounds, round)
				}
				c.Rounds = append(c.Rounds, sc.Rounds[i+1:]...)
				if fails(c) {
					sc, progress = c, true
				}
			}
		}
		// Fields back to their zero values, one at a time.
		for i := range sc.Rounds {
			if sc.Rounds[i].Advance != 0 {
				if c := sc.withRound(i, func(r *Round) { r.Advance = 0 }); fails(c) {
					sc, progress = c, true
				}
			}
			for j := range sc.Rounds[i].Requests {
				for _, simplify := range requestSimplifications {
					c := sc.withRound(i, func(r *Round) {
						req := r.Requests[j]
						req.Header = cloneMap(req.Header)
						r.Requests = append([]Request(nil), r.Requests...)
						r.Requests[j] = req
						simplify(&r.Requests[j])
					})
					if !sameScenario(c, sc) && fails(c) {
						sc, progress = c, true
					}
				}
			}
		}
		for _, simplify := range settingsSimplifications {
			c := sc
			simplify(&c.Settings)
			if c.Settings != sc.Settings && fails(c) {
				sc, progress = c, true
			}
		}
	}
	if last == nil {
		last = Run(ctx, sc, env)
	}
	return sc, last
}

func (sc Scenario) withRound(i int, change func(*Round)) Scenario {
	c := sc
	c.Rounds = append([]Round(nil), sc.Rounds...)
	change(&c.Rounds[i])
	return c
}

func cloneMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func sameScenario(a, b Scenario) bool { return a.GoString() == b.GoString() }

// requestSimplifications each set back one field of a request or its
// reply.
var requestSimplifications = func() []func(*Request) {
	fs := []func(*Request){
		func(r *Request) { r.Delay = 0 },
		func(r *Request) { r.Deadline = false },
		func(r *Request) { r.Read = "" },
		func(r *Request) { r.Options = nil },
		func(r *Request) { r.Override = "" },
		func(r *Request) { r.Host = "" },
		func(r *Request) { r.Who, r.Where = "", "" },
		func(r *Request) { r.Body = "" },
		func(r *Request) { r.Reply.CacheControl = "" },
		func(r *Request) { r.Reply.Expires = 0 },
		func(r *Request) { r.Reply.ETag = "" },
		func(r *Request) { r.Reply.LastModified = false },
		func(r *Request) { r.Reply.Age = 0 },
		func(r *Request) { r.Reply.DateOffset = 0 },
		func(r *Request) { r.Reply.Vary = "" },
		func(r *Request) { r.Reply.ContentLocation = "" },
		func(r *Request) { r.Reply.SetCookie = false },
		func(r *Request) { r.Reply.Chunked = false },
		func(r *Request) { r.Reply.Slow = false },
		func(r *Request) { r.Reply.Cut = false },
		func(r *Request) { r.Reply.Drop = false },
		func(r *Request) { r.Reply.Size = 20 },
		func(r *Request) { r.Reply.No304 = false },
		func(r *Request) { r.Reply.NoRange = false },
		func(r *Request) { r.Reply.EventStream = false },
		func(r *Request) { r.Reply.NilBody = false },
		func(r *Request) { r.Reply.Gzip = false },
		func(r *Request) {
			if r.Reply.Location == "" {
				r.Reply.Status = 200
			}
		},
	}
	for _, h := range []string{"Accept-Language", "Accept", "X-Variant", "Range", "Cache-Control", "Pragma"} {
		fs = append(fs, func(r *Request) { delete(r.Header, h) })
	}
	return fs
}()

// settingsSimplifications each set back one setting.
var settingsSimplifications = []func(*Settings){
	func(s *Settings) { s.ExpireAfter = "" },
	func(s *Settings) { s.StaleIfError = "" },
	func(s *Settings) { s.StaleWhileRevalidate = "" },
	func(s *Settings) { s.MatchVariant = false },
	func(s *Settings) { s.MaxBodyBytes = 16 << 20 },
	func(s *Settings) { s.CachePOST = false },
	func(s *Settings) { s.AlwaysRevalidate = false },
	func(s *Settings) { s.URLRule = "" },
	func(s *Settings) { s.CacheControl = !s.CacheControl },
	func(s *Settings) { s.SeparateCredentials = !s.SeparateCredentials },
}

// FirstKind is the kind of a result's first violation.
func FirstKind(r *Result) string {
	if len(r.Violations) == 0 {
		return ""
	}
	return r.Violations[0].Kind
}

// Report is a violation with what a reader needs to turn it into a test.
func Report(sc Scenario, r *Result, kind string, found int) string {
	var v model.Violation
	for _, w := range r.Violations {
		if w.Kind == kind {
			v = w
			break
		}
	}
	return "seed " + itoa(sc.Seed) + ", found after " + itoa(int64(found)) + " exchanges: " + v.String() +
		"\n\nscenario (paste into regressions_test.go):\n\n" + sc.GoString() +
		"\n\nwhat happened:\n" + model.Summary(&r.Trace)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
