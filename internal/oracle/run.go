package oracle

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/reqcache/reqcache/config"
	"github.com/reqcache/reqcache/internal/oracle/model"
	"github.com/reqcache/reqcache/session"
	"github.com/reqcache/reqcache/stores"
	"github.com/reqcache/reqcache/stores/backend"
)

// Env says where a scenario runs: the store, and MongoDB's address for the
// mongo and tiered stores.
type Env struct {
	Store    string // "memory", "mongo" or "tiered"
	MongoURI string
	// Collection names the MongoDB collection (each run needs its own).
	Collection string
	// KeyEnv, when set, seals the MongoDB documents ([encryption] key_env).
	KeyEnv string
	// Fleet runs the steps through two sessions on one store (the mongo
	// or tiered store: two processes of a fleet), each step through its
	// Request.Process. On the tiered store each session has a memory tier
	// of its own, following the other's invalidations every 20 ms; the
	// run waits for both to have read them between rounds (Trace.Syncs).
	Fleet bool
}

// fleetPoll is [memory] invalidation_poll in a fleet run.
const fleetPoll = 20 * time.Millisecond

// Result is what one run of a scenario produced.
type Result struct {
	Trace      model.Trace
	Violations []model.Violation
}

// Failed reports whether the run broke a rule.
func (r *Result) Failed() bool { return len(r.Violations) > 0 }

// hangAfter is how long a request may take before the run reports it hung.
const hangAfter = 20 * time.Second

// Run runs a scenario through a new session on a new store and checks it.
func Run(ctx context.Context, sc Scenario, env Env) *Result {
	res := &Result{}
	var seq atomic.Int64
	clk := &clock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	o := newOrigin(&sc, clk, &seq)
	defer o.Close()

	cfg, err := config.Parse("oracle.toml", []byte(sc.Settings.toml(o.URL, env)))
	if err != nil {
		res.Violations = append(res.Violations, model.Violation{Kind: "setup", Detail: err.Error()})
		return res
	}
	cfg.Encryption.KeyEnv = env.KeyEnv
	core, logs := observer.New(zapcore.DebugLevel)
	logger := zap.New(core)
	transport := &http.Transport{}
	defer transport.CloseIdleConnections()
	processes := 1
	if env.Fleet {
		processes = 2
	}
	d := &driver{origin: o, base: o.URL, clock: clk, seq: &seq, settings: &sc.Settings}
	closed := false
	defer func() {
		if !closed {
			for _, sess := range d.sess {
				sess.Close()
			}
		}
	}()
	for range processes {
		var st stores.Store
		if env.Store != "memory" {
			st, err = backend.Open(ctx, cfg, logger)
			if err != nil {
				res.Violations = append(res.Violations, model.Violation{Kind: "setup", Detail: err.Error()})
				return res
			}
		}
		opts := []session.Option{session.WithLogger(logger), session.WithUpstream(nilBodies{transport}), session.WithClock(clk.Now)}
		if st != nil {
			opts = append(opts, session.WithStore(st))
		}
		sess, err := session.New(cfg, opts...)
		if err != nil {
			if st != nil {
				_ = st.Close()
			}
			res.Violations = append(res.Violations, model.Violation{Kind: "setup", Detail: err.Error()})
			return res
		}
		// The debug page, made before the first request so that it
		// records every one: its views are searched for credentials with
		// the store.
		d.sess, d.page = append(d.sess, sess), append(d.page, sess.Cache().Handler())
	}

	var syncs []int64
	for _, round := range sc.Rounds {
		clk.advance(time.Duration(round.Advance) * time.Second)
		if hung := d.round(round); hung != "" {
			res.Violations = append(res.Violations, model.Violation{Kind: "hang", Detail: hung})
			break
		}
		o.quiet()
		if lent := d.checkLent(ctx); lent != "" {
			res.Violations = append(res.Violations, model.Violation{Kind: "lent", Detail: lent})
			break
		}
		if env.Fleet && d.synced(time.Now()) {
			syncs = append(syncs, seq.Add(1))
		}
	}
	res.Violations = append(res.Violations, d.problems...)
	if len(res.Violations) == 0 {
		res.Violations = append(res.Violations, d.secrets(ctx, logs)...)
	}
	if !hasKind(res.Violations, "hang") {
		if env.Store != "memory" {
			_ = d.sess[0].Cache().Clear(context.Background())
		}
		closed = true
		for _, sess := range d.sess {
			if err := sess.Close(); err != nil {
				res.Violations = append(res.Violations, model.Violation{Kind: "close", Detail: err.Error()})
			}
		}
		if left := reqcacheGoroutines(); left != "" {
			res.Violations = append(res.Violations, model.Violation{Kind: "goroutine", Detail: "left after Close:\n" + left})
		}
	}
	res.Trace = model.Trace{Settings: sc.Settings.model(), Answers: d.answers, Exchanges: o.exchanges(), Syncs: syncs}
	res.Trace.Settings.Fleet = env.Fleet && env.Store == "tiered"
	res.Violations = append(model.Check(&res.Trace), res.Violations...)
	return res
}

func hasKind(vs []model.Violation, kind string) bool {
	for _, v := range vs {
		if v.Kind == kind {
			return true
		}
	}
	return false
}

// toml is the configuration file of the settings.
func (s Settings) toml(originURL string, env Env) string {
	var b strings.Builder
	fmt.Fprintf(&b, "backend = %q\n", env.Store)
	fmt.Fprintf(&b, "cache_control = %v\nseparate_credentials = %v\nmax_body_bytes = %d\nalways_revalidate = %v\n",
		s.CacheControl, s.SeparateCredentials, s.MaxBodyBytes, s.AlwaysRevalidate)
	if s.ExpireAfter != "" {
		fmt.Fprintf(&b, "expire_after = %q\n", s.ExpireAfter)
	}
	for _, kv := range [][2]string{{"stale_if_error", s.StaleIfError}, {"stale_while_revalidate", s.StaleWhileRevalidate}} {
		switch kv[1] {
		case "":
		case "true":
			fmt.Fprintf(&b, "%s = true\n", kv[0])
		default:
			fmt.Fprintf(&b, "%s = %q\n", kv[0], kv[1])
		}
	}
	if s.MatchVariant {
		b.WriteString("match_headers = [\"X-Variant\"]\n")
	}
	if s.CachePOST {
		b.WriteString("allowable_methods = [\"GET\", \"HEAD\", \"POST\"]\n")
	}
	if s.URLRule != "" {
		host := strings.TrimPrefix(originURL, "http://")
		fmt.Fprintf(&b, "[[urls_expire_after]]\npattern = %q\nexpire_after = %q\n", host+"/b", s.URLRule)
	}
	b.WriteString("[memory]\nmax_size_mb = 8\nshards = 8\n")
	if env.Fleet && env.Store == "tiered" {
		fmt.Fprintf(&b, "invalidation_poll = %q\n", fleetPoll)
	}
	if env.Store != "memory" {
		fmt.Fprintf(&b, "[mongo]\nuri = %q\ndatabase = \"oracle\"\ncollection = %q\nlease = \"2s\"\nsweep_interval = \"0s\"\n", env.MongoURI, env.Collection)
	}
	return b.String()
}

// model is the settings as the reference model reads them.
func (s Settings) model() model.Settings {
	m := model.Settings{
		CacheControl:        s.CacheControl,
		SeparateCredentials: s.SeparateCredentials,
		MaxBodyBytes:        s.MaxBodyBytes,
		Methods:             []string{"GET", "HEAD"},
		Codes:               []int{200},
		AlwaysRevalidate:    s.AlwaysRevalidate,
		Heuristic:           true,
		HeuristicMax:        24 * time.Hour,
		IgnoredParameters:   []string{"Authorization", "Proxy-Authorization", "X-API-Key", "X-Auth-Token", "X-API-Token", "X-Access-Token", "access_token", "api_key", "apikey"},
	}
	if s.ExpireAfter != "" {
		m.ExpireAfter, m.ExpireAfterSet = lifetime(s.ExpireAfter), true
	}
	m.StaleIfError = limit(s.StaleIfError)
	m.StaleWhileRevalidate = limit(s.StaleWhileRevalidate)
	if s.MatchVariant {
		m.MatchHeaders = []string{"X-Variant"}
	}
	if s.CachePOST {
		m.Methods = append(m.Methods, "POST")
	}
	if s.URLRule != "" {
		m.URLRules = []model.URLRule{{PathPrefix: "/b", Lifetime: lifetime(s.URLRule)}}
	}
	return m
}

func lifetime(v string) model.Lifetime {
	switch v {
	case "never":
		return model.Lifetime{Kind: model.Never}
	case "immediately":
		return model.Lifetime{Kind: model.Immediately}
	case "do_not_cache":
		return model.Lifetime{Kind: model.DoNotCache}
	}
	d, _ := time.ParseDuration(v)
	if d <= 0 {
		return model.Lifetime{Kind: model.Immediately}
	}
	return model.Lifetime{Kind: model.After, D: d}
}

func limit(v string) model.Limit {
	switch v {
	case "":
		return model.Limit{}
	case "true":
		return model.Limit{On: true}
	}
	d, _ := time.ParseDuration(v)
	return model.Limit{On: true, Max: d}
}

// nilBodies hands body-less responses the origin marks over with a nil
// Body, as some RoundTrippers and test doubles do (net/http's Client
// accepts it).
type nilBodies struct{ rt http.RoundTripper }

func (n nilBodies) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := n.rt.RoundTrip(req)
	if err == nil && resp.Header.Get("X-Oracle-Nil-Body") != "" && (resp.ContentLength == 0 || req.Method == http.MethodHead) {
		resp.Body.Close()
		resp.Body = nil
	}
	return resp, err
}

// driver makes a scenario's requests and records what they got.
type driver struct {
	sess     []*session.Session // one per process
	origin   *origin
	base     string
	clock    *clock
	seq      *atomic.Int64
	settings *Settings
	page     []http.Handler // each session's debug page

	mu       sync.Mutex
	answers  []*model.Answer
	leakable []string
	problems []model.Violation // what the run got wrong that is not an answer
}

// round makes a round's requests, each after its delay, and waits for them
// all; it returns a description of a request that hung.
func (d *driver) round(round Round) string {
	var wg sync.WaitGroup
	done := make(chan struct{})
	for _, r := range round.Requests {
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(time.Duration(r.Delay) * time.Millisecond)
			d.do(r)
		}()
	}
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
		return ""
	case <-time.After(hangAfter):
		buf := make([]byte, 1<<20)
		return fmt.Sprintf("a request of the round (steps %d...) did not finish in %v:\n%s", round.Requests[0].Step, hangAfter, buf[:runtime.Stack(buf, true)])
	}
}

// checkLent reports an entry a store lent that a caller changed.
func (d *driver) checkLent(ctx context.Context) string {
	for _, sess := range d.sess {
		if c, ok := sess.Store().(interface{ CheckLent(context.Context) error }); ok {
			if err := c.CheckLent(ctx); err != nil {
				return err.Error()
			}
		}
	}
	return ""
}

// synced waits until every session's memory tier has read the other
// processes' invalidations in a poll begun after since; false when one
// did not within a second (its tier then answers only within max_age,
// and the run records no sync).
func (d *driver) synced(since time.Time) bool {
	deadline := time.Now().Add(time.Second)
	for _, sess := range d.sess {
		c, ok := sess.Store().(interface {
			Coherence() (following bool, synced time.Time, degraded bool)
		})
		if !ok {
			return false
		}
		for {
			following, at, _ := c.Coherence()
			if !following {
				return false
			}
			if at.After(since) {
				break
			}
			if time.Now().After(deadline) {
				return false
			}
			time.Sleep(fleetPoll / 4)
		}
	}
	return true
}

// secret is the value of who's credential of a kind, as sent.
func secret(who, kind string) string { return "SECRET-" + who + "-" + kind }

// presignature is a presigned URL's signature: a secret of its own step.
func presignature(r Request) string { return fmt.Sprintf("SECRETSIG%s%08x", r.Who, r.Step*2654435761) }

// build makes the http.Request of a step.
func (d *driver) build(r Request) (*http.Request, []byte) {
	path := r.Path
	if r.Who != "" && (r.Where == "query" || r.Where == "presigned") {
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		if r.Where == "query" {
			path += sep + "access_token=" + secret(r.Who, "q")
		} else {
			// Signature, date and expiry differ on every signing by one
			// principal; x-id is the SDK's operation hint.
			op := "GetObject"
			if r.Method != "GET" && r.Method != "HEAD" {
				op = "PutObject"
			}
			path += sep + fmt.Sprintf("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%s%%2F20260101%%2Fus-east-1%%2Fs3%%2Faws4_request&X-Amz-Date=%s&X-Amz-Expires=%d&X-Amz-SignedHeaders=host&X-Amz-Signature=%s&x-id=%s",
				strings.ToUpper(r.Who), d.clock.Now().Format("20060102T150405Z"), 900+r.Step, presignature(r), op)
		}
	}
	var body []byte
	ct := ""
	fields := [][2]string{{"q", "1"}, {"r", "2"}}
	if strings.HasSuffix(r.Body, "2") {
		fields = [][2]string{{"r", "2"}, {"q", "1"}}
	}
	if r.Who != "" && (r.Where == "form" || r.Where == "json") {
		fields = append(fields, [2]string{"access_token", secret(r.Who, "b")})
	}
	switch strings.TrimSuffix(r.Body, "2") {
	case "form":
		ct = "application/x-www-form-urlencoded"
		var parts []string
		for _, f := range fields {
			parts = append(parts, f[0]+"="+f[1])
		}
		body = []byte(strings.Join(parts, "&"))
	case "json":
		ct = "application/json"
		var parts []string
		for _, f := range fields {
			parts = append(parts, fmt.Sprintf("%q:%q", f[0], f[1]))
		}
		body = []byte("{" + strings.Join(parts, ",") + "}")
	case "multipart":
		// mime/multipart's writer, as SDKs upload forms: a random
		// boundary every time, the fields as parts.
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		for _, f := range fields {
			mw.WriteField(f[0], f[1])
		}
		mw.Close()
		body, ct = buf.Bytes(), mw.FormDataContentType()
	case "badmultipart":
		// A multipart body that does not parse with its boundary: its
		// raw bytes are the key's, and it may hold anything.
		ct = "multipart/form-data; boundary=zz"
		var parts []string
		for _, f := range fields {
			parts = append(parts, f[0]+"="+f[1])
		}
		body = []byte("--not-zz\r\n" + strings.Join(parts, "&"))
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, _ := http.NewRequest(r.Method, d.base+path, rd)
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	req.Header.Set("X-Oracle-Step", fmt.Sprint(r.Step))
	for k, v := range r.Header {
		req.Header[k] = []string{v} // as written: SDK-shaped names may be in lower case (azcore writes them so)
	}
	if r.Override != "" {
		// Each of the headers requests-cache takes for an override, by
		// step (drawn without the random source: seeds keep their
		// scenarios).
		req.Header.Set([...]string{"X-HTTP-Method-Override", "X-HTTP-Method", "X-Method-Override"}[r.Step%3], r.Override)
	}
	if r.Host != "" {
		req.Host = r.Host
	}
	var secrets []string
	if r.Who != "" {
		switch r.Where {
		case "bearer":
			req.Header.Set("Authorization", "Bearer "+secret(r.Who, "token"))
		case "basic":
			v := base64.StdEncoding.EncodeToString([]byte(r.Who + ":" + secret(r.Who, "pw")))
			req.Header.Set("Authorization", "Basic "+v)
			secrets = append(secrets, v)
		case "cookie":
			// With a cookie that names no one, before or after it by
			// step: the order of cookies on the line is not who sent them.
			cookies := []string{"session=" + secret(r.Who, "cookie"), "theme=dark"}
			if r.Step%2 == 1 {
				cookies[0], cookies[1] = cookies[1], cookies[0]
			}
			req.Header.Set("Cookie", strings.Join(cookies, "; "))
		case "api-key":
			req.Header.Set("X-API-Key", secret(r.Who, "key"))
		case "sigv4":
			akid := "AKID" + strings.ToUpper(r.Who)
			req.Header.Set("Authorization", fmt.Sprintf("AWS4-HMAC-SHA256 Credential=%s/20260101/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=SECRETSIG%08x", akid, r.Step*2654435761))
			req.Header.Set("X-Amz-Date", d.clock.Now().Format("20060102T150405Z"))
			req.Header.Set("X-Amz-Security-Token", secret(r.Who, "session"))
		case "sdk":
			var query []string
			slots := make([]string, 0, len(r.Creds))
			for slot := range r.Creds {
				slots = append(slots, slot)
			}
			sort.Strings(slots)
			for _, slot := range slots {
				v, leak := sdkCredential(r.Who, slot, r.Creds[slot], r.Step)
				if leak != "" {
					secrets = append(secrets, leak)
				}
				if name, ok := strings.CutPrefix(slot, "h:"); ok {
					req.Header[name] = []string{v}
				} else {
					query = append(query, url.QueryEscape(slot[2:])+"="+url.QueryEscape(v))
				}
			}
			if len(query) > 0 {
				if req.URL.RawQuery != "" {
					req.URL.RawQuery += "&"
				}
				req.URL.RawQuery += strings.Join(query, "&")
			}
		case "sharedkey":
			// Azure Storage's SharedKey: signed anew each request (the
			// signature covers x-ms-date), its principal the account.
			req.Header.Set("Authorization", fmt.Sprintf("SharedKey acct%s:SECRETSIG%08x", r.Who, r.Step*2654435761))
			req.Header.Set("X-Ms-Date", d.clock.Now().Format(http.TimeFormat))
		}
	}
	d.mu.Lock()
	d.leakable = append(d.leakable, secrets...)
	d.mu.Unlock()
	ctx := context.Background()
	for _, o := range r.Options {
		switch o {
		case "disabled":
			ctx = session.Disabled(ctx)
		case "disabled+enabled":
			ctx = session.Enabled(session.Disabled(ctx))
		case "only-if-cached":
			ctx = session.OnlyIfCached(ctx)
		case "refresh":
			ctx = session.Refresh(ctx)
		case "force-refresh":
			ctx = session.ForceRefresh(ctx)
		default:
			if v, ok := strings.CutPrefix(o, "expire="); ok {
				e, _ := config.ParseExpiration(v)
				ctx = session.WithExpireAfter(ctx, e)
			}
		}
	}
	return req.WithContext(ctx), body
}

// options is a step's context options as the model reads them.
func options(r Request) model.Options {
	var m model.Options
	for _, o := range r.Options {
		switch o {
		case "disabled":
			m.Disabled = true
		case "disabled+enabled":
			m.Disabled, m.Enabled = true, true
		case "only-if-cached":
			m.OnlyIfCached = true
		case "refresh":
			m.Refresh = true
		case "force-refresh":
			m.ForceRefresh = true
		default:
			if v, ok := strings.CutPrefix(o, "expire="); ok {
				l := lifetime(v)
				m.ExpireAfter = &l
			}
		}
	}
	return m
}

// do makes one step's request through a client that follows redirects,
// recording each hop.
func (d *driver) do(r Request) {
	if r.Import != "" {
		d.importStep(r)
		return
	}
	req, body := d.build(r)
	if r.Deadline {
		ctx, cancel := context.WithTimeout(req.Context(), hangAfter+time.Second)
		defer cancel()
		req = req.WithContext(ctx)
	}
	rec := &recorder{d: d, step: r, body: body}
	client := &http.Client{Transport: rec}
	var last *model.Answer
	func() {
		defer func() {
			if p := recover(); p != nil {
				rec.panicked(fmt.Sprint(p))
			}
		}()
		resp, err := client.Do(req)
		last = rec.last()
		if err != nil {
			if last != nil && last.Err == "" && last.Panic == "" {
				// An error of the client after the hop (a redirect
				// loop): the hop itself is recorded.
				return
			}
			return
		}
		defer resp.Body.Close()
		if r.Read == "close" {
			buf := make([]byte, 7)
			_, _ = io.ReadFull(resp.Body, buf)
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
	}()
}

// recorder is the transport between a step's client and the session: it
// records every hop's request and what the session answered.
type recorder struct {
	d    *driver
	step Request
	body []byte

	mu   sync.Mutex
	hops []*model.Answer
}

func (rec *recorder) last() *model.Answer {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.hops) == 0 {
		return nil
	}
	return rec.hops[len(rec.hops)-1]
}

func (rec *recorder) panicked(p string) {
	if a := rec.last(); a != nil && a.End == 0 {
		a.Panic = p
		a.End = rec.d.seq.Add(1)
	}
}

func (rec *recorder) RoundTrip(req *http.Request) (resp *http.Response, err error) {
	d := rec.d
	rec.mu.Lock()
	hop := len(rec.hops)
	body := rec.body
	if hop > 0 {
		body = nil
		if req.GetBody != nil {
			if rc, err := req.GetBody(); err == nil {
				body, _ = io.ReadAll(rc)
			}
		}
	}
	a := &model.Answer{Req: &model.Request{
		Step: rec.step.Step, Hop: hop, Method: req.Method, URL: req.URL.String(), Host: req.Host,
		Header: canonicalHeader(req.Header), Body: body, Options: options(rec.step), Time: d.clock.Now(),
		Process: rec.step.Process,
	}}
	rec.hops = append(rec.hops, a)
	rec.mu.Unlock()
	d.mu.Lock()
	d.answers = append(d.answers, a)
	d.mu.Unlock()

	a.Start = d.seq.Add(1)
	defer func() {
		if p := recover(); p != nil {
			a.Panic = fmt.Sprint(p)
			a.End = d.seq.Add(1)
			resp, err = nil, fmt.Errorf("oracle: RoundTrip panicked: %v", p)
		}
	}()
	resp, err = d.sess[rec.step.Process].RoundTrip(req)
	if err != nil {
		a.Err = err.Error()
		a.End = d.seq.Add(1)
		return nil, err
	}
	a.Status = resp.StatusCode
	a.Header = resp.Header.Clone()
	info := session.InfoOf(resp)
	a.FromCache, a.Expired, a.Revalidated = info.FromCache, info.Expired, info.Revalidated
	if resp.Body == nil {
		a.End = d.seq.Add(1)
		resp.Body = http.NoBody
		return resp, nil
	}
	resp.Body = &recordedBody{rc: resp.Body, a: a, seq: d.seq, resp: resp}
	return resp, nil
}

// recordedBody records what a caller reads of an answer's body.
type recordedBody struct {
	rc    io.ReadCloser
	a     *model.Answer
	seq   *atomic.Int64
	resp  *http.Response
	ended bool
}

func (b *recordedBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	b.a.Body = append(b.a.Body, p[:n]...)
	if err != nil && !b.ended {
		b.ended = true
		if err != io.EOF {
			b.a.BodyErr = err.Error()
		}
		b.a.Stored = session.InfoOf(b.resp).Stored
		b.a.End = b.seq.Add(1)
	}
	return n, err
}

func (b *recordedBody) Close() error {
	err := b.rc.Close()
	if !b.ended {
		b.ended = true
		b.a.Partial = true
		b.a.End = b.seq.Add(1)
	}
	return err
}

// secrets reports every credential found in the clear in a stored entry,
// an export line or a log line.
func (d *driver) secrets(ctx context.Context, logs *observer.ObservedLogs) []model.Violation {
	var out []model.Violation
	leaks := func(where, text string) {
		if i := strings.Index(text, "SECRET"); i >= 0 {
			out = append(out, model.Violation{Kind: "secret", Detail: fmt.Sprintf("%s: %.80q", where, text[max(0, i-20):])})
			return
		}
		d.mu.Lock()
		defer d.mu.Unlock()
		for _, s := range d.leakable {
			if strings.Contains(text, s) {
				out = append(out, model.Violation{Kind: "secret", Detail: fmt.Sprintf("%s: %q", where, s)})
				return
			}
		}
	}
	for i, sess := range d.sess {
		var export bytes.Buffer
		if _, err := sess.Cache().Export(ctx, &export, session.Filter{}); err == nil {
			leaks("export", export.String())
		}
		_ = sess.Store().Scan(ctx, func(e *stores.Entry) bool {
			leaks("stored entry", fmt.Sprintf("%s %s %v %v %s", e.Key, e.URL, e.Header, e.RequestHeader, e.Body))
			return len(out) == 0
		})
		if sc, ok := sess.Store().(stores.AliasScanner); ok {
			_ = sc.ScanAliases(ctx, func(alias, value string) bool {
				leaks("alias", alias+" "+value)
				return len(out) == 0
			})
		}
		d.pageViews(d.page[i], func(view, body string) bool {
			leaks("debug page "+view, body)
			return len(out) == 0
		})
	}
	for _, entry := range logs.All() {
		text := entry.Message
		for k, v := range entry.ContextMap() {
			text += fmt.Sprintf(" %s=%v", k, v)
		}
		leaks("log", text)
		if len(out) > 0 {
			break
		}
	}
	return out
}

// pageViews renders every view of the debug page, HTML and JSON — the
// overview, every page of the listing, every entry listed — until fn
// returns false.
func (d *driver) pageViews(page http.Handler, fn func(view, body string) bool) {
	get := func(view string) (string, bool) {
		rec := httptest.NewRecorder()
		page.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/debug/reqcache/"+view, nil))
		return rec.Body.String(), rec.Code == http.StatusOK
	}
	for _, view := range []string{"", "?format=json"} {
		if body, _ := get(view); !fn(view, body) {
			return
		}
	}
	var listing struct {
		Cursor  string `json:"cursor"`
		More    bool   `json:"more"`
		Entries []struct {
			Key string `json:"key"`
		} `json:"entries"`
	}
	view := "entries?format=json"
	for n := 2; ; n++ {
		body, ok := get(view)
		if !fn(view, body) || !ok || json.Unmarshal([]byte(body), &listing) != nil {
			return
		}
		html, _ := get(strings.TrimSuffix(strings.Replace(view, "format=json&", "", 1), "format=json"))
		if !fn(view+" (html)", html) {
			return
		}
		for _, e := range listing.Entries {
			for _, format := range []string{"", "&format=json"} {
				v := "entry?key=" + url.QueryEscape(e.Key) + format
				if body, _ := get(v); !fn(v, body) {
					return
				}
			}
		}
		if !listing.More {
			return
		}
		view = fmt.Sprintf("entries?format=json&cursor=%s&page=%d", listing.Cursor, n)
	}
}

// reqcacheGoroutines lists the goroutines still running reqcache code,
// waiting a moment for those that are ending.
func reqcacheGoroutines() string {
	var left string
	for i := 0; i < 50; i++ {
		buf := make([]byte, 1<<20)
		all := string(buf[:runtime.Stack(buf, true)])
		left = ""
		for _, g := range strings.Split(all, "\n\n") {
			if strings.Contains(g, "reqcache/reqcache/session.") || strings.Contains(g, "reqcache/reqcache/internal/streambody.") || strings.Contains(g, "reqcache/reqcache/stores/") {
				left += g + "\n\n"
			}
		}
		if left == "" {
			return ""
		}
		time.Sleep(20 * time.Millisecond)
	}
	return left
}

// canonicalHeader is h as the wire carries it, for the model: every name
// in canonical form (an SDK may write "x-ms-range" into the map).
func canonicalHeader(h http.Header) http.Header {
	out := make(http.Header, len(h))
	for name, vs := range h {
		c := http.CanonicalHeaderKey(name)
		out[c] = append(out[c], vs...)
	}
	return out
}
