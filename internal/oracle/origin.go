package oracle

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/reqcache/reqcache/internal/oracle/model"
)

// origin is the scripted origin: it answers each request with the Reply of
// the step named by its X-Oracle-Step header, stamps every response with a
// unique X-Oracle-Id, keeps a version per resource that unsafe requests
// move on, and logs every exchange with the request it saw.
type origin struct {
	*httptest.Server
	clock   *clock
	seq     *atomic.Int64
	replies map[int]Reply
	lastID  atomic.Int64
	active  atomic.Int64

	mu        sync.Mutex
	resources map[string]*resource
	log       []*model.Exchange
}

// secret304 is the token a 304's Content-Location carries: never stored
// in the clear (the driver's search for secrets finds "SECRET").
const secret304 = "SECRET-304-q"

// resource is one URL's state at the origin.
type resource struct {
	version   int
	changedAt time.Time
}

func newOrigin(sc *Scenario, c *clock, seq *atomic.Int64) *origin {
	o := &origin{clock: c, seq: seq, replies: map[int]Reply{}, resources: map[string]*resource{}}
	for _, round := range sc.Rounds {
		for _, r := range round.Requests {
			o.replies[r.Step] = r.Reply
		}
	}
	o.Server = httptest.NewServer(http.HandlerFunc(o.serve))
	return o
}

// exchanges returns the log, in the order exchanges began.
func (o *origin) exchanges() []*model.Exchange {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := append([]*model.Exchange(nil), o.log...)
	sort.Slice(out, func(i, j int) bool { return out[i].Start < out[j].Start })
	return out
}

// quiet waits until no exchange has been under way for a few
// milliseconds (background work may start one after another), at most
// hangAfter.
func (o *origin) quiet() {
	deadline := time.Now().Add(hangAfter)
	for idle := 0; idle < 3 && time.Now().Before(deadline); {
		if o.active.Load() == 0 {
			idle++
		} else {
			idle = 0
		}
		time.Sleep(time.Millisecond)
	}
}

func (o *origin) serve(w http.ResponseWriter, req *http.Request) {
	o.active.Add(1)
	defer o.active.Add(-1)
	body, _ := io.ReadAll(req.Body)
	step, _ := strconv.Atoi(req.Header.Get("X-Oracle-Step"))
	reply, ok := o.replies[step]
	if !ok {
		http.Error(w, "no such step", http.StatusTeapot)
		return
	}
	now := o.clock.Now()
	x := &model.Exchange{
		ID:     o.lastID.Add(1),
		Step:   step,
		Method: req.Method,
		Path:   req.URL.RequestURI(),
		Host:   req.Host,
		Header: req.Header.Clone(),
		Start:  o.seq.Add(1),
		Time:   now,
	}
	defer func() {
		x.End = o.seq.Add(1)
		o.mu.Lock()
		o.log = append(o.log, x)
		o.mu.Unlock()
	}()
	if req.URL.Path != "/r" && reply.Location == "/a" && reply.Status >= 300 && reply.Status < 400 {
		// The target of a redirect: the same reply, as a 200.
		reply.Status, reply.Location = 200, ""
	}
	if reply.Drop {
		x.Dropped = true
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
				return
			}
		}
		panic(http.ErrAbortHandler)
	}

	o.mu.Lock()
	resKey := resourceKey(req.URL)
	res := o.resources[resKey]
	if res == nil {
		res = &resource{changedAt: now.Add(-10000 * time.Second)}
		o.resources[resKey] = res
	}
	unsafe := req.Method != http.MethodGet && req.Method != http.MethodHead
	if unsafe && reply.Status < 400 {
		res.version++
		res.changedAt = now
	}
	version, changedAt := res.version, res.changedAt
	o.mu.Unlock()

	h := w.Header()
	lang := negotiateLanguage(req.Header)
	rep := representation(resKey, version, principalOf(req, body), reply.Vary, req.Header, lang, reply.Size, req.Method)
	if strings.Contains(reply.Vary, "Accept-Language") {
		h.Set("Content-Language", lang)
	}
	tag := `"` + rep.id + `"`
	switch reply.ETag {
	case "strong":
		h.Set("ETag", tag)
	case "weak":
		h.Set("ETag", "W/"+tag)
	}
	date := now.Add(-time.Duration(reply.DateOffset) * time.Second)
	h.Set("Date", date.UTC().Format(http.TimeFormat))
	if reply.LastModified {
		h.Set("Last-Modified", changedAt.UTC().Format(http.TimeFormat))
	}
	if reply.CacheControl != "" {
		h.Set("Cache-Control", reply.CacheControl)
	}
	switch reply.Expires {
	case 0:
	case -1:
		h.Set("Expires", "0")
	default:
		h.Set("Expires", date.Add(time.Duration(reply.Expires)*time.Second).UTC().Format(http.TimeFormat))
	}
	if reply.Age > 0 {
		h.Set("Age", strconv.Itoa(reply.Age))
	}
	if reply.Vary != "" {
		h.Set("Vary", reply.Vary)
	}

	if !unsafe && reply.Status == 200 && !reply.No304 && notModified(req.Header, h, changedAt) {
		// A 304 carries the validators and freshness, not the id: the
		// answer keeps the stored response's.
		x.Status = http.StatusNotModified
		for _, k := range []string{"Content-Language", "Vary"} {
			h.Del(k)
		}
		switch reply.On304 {
		case "set-cookie":
			h.Set("Set-Cookie", "sid=cookie304-"+strconv.FormatInt(x.ID, 10)+"; Path=/")
		case "credential":
			h.Set("Content-Location", req.URL.Path+"?access_token="+secret304)
		case "no-store":
			h.Set("Cache-Control", "no-store")
		case "max-age":
			h.Set("Cache-Control", "max-age=600")
		}
		x.RespHeader = h.Clone()
		w.WriteHeader(http.StatusNotModified)
		return
	}

	id := strconv.FormatInt(x.ID, 10)
	h.Set("X-Oracle-Id", id)
	if reply.ContentLocation == "self" {
		h.Set("Content-Location", req.URL.RequestURI())
	}
	if reply.Location != "" {
		h.Set("Location", reply.Location)
	}
	if reply.SetCookie {
		h.Set("Set-Cookie", "sid=cookie-"+id+"; Path=/")
	}
	ct := "text/plain; charset=utf-8"
	if reply.EventStream {
		ct = "text/event-stream"
	}
	h.Set("Content-Type", ct)
	if reply.NilBody {
		h.Set("X-Oracle-Nil-Body", "1")
	}

	status := reply.Status
	send := rep.body
	if rng := model.RequestRange(req.Header); rng != "" && req.Method == http.MethodGet && status == 200 && !reply.NoRange {
		if first, last, ok := model.ByteRange(rng, int64(len(rep.body))); ok {
			status = http.StatusPartialContent
			send = rep.body[first : last+1]
			h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", first, last, len(rep.body)))
		}
	}
	if status == http.StatusNoContent || status == http.StatusNotModified {
		send = nil
	}
	// Gzip codes the body for a GET that accepts it — whether the caller
	// asked or the Transport did below it — as origins do, with or
	// without Vary: Accept-Encoding.
	coded := reply.Gzip && status == 200 && req.Method == http.MethodGet && len(send) > 0 && !reply.Cut && !reply.EventStream && model.AcceptsGzip(req.Header)
	if coded {
		send = gzipped(send)
		h.Set("Content-Encoding", "gzip")
	}
	x.Status = status
	x.Rep = rep.body
	if coded {
		x.Rep = send // the representation, coded
	}
	if status == http.StatusNoContent {
		x.Rep = nil
	}
	if req.Method == http.MethodHead {
		x.Rep = nil
	}
	if !reply.Chunked {
		h.Set("Content-Length", strconv.Itoa(len(send)))
	}
	x.RespHeader = h.Clone()
	w.WriteHeader(status)
	if req.Method == http.MethodHead || len(send) == 0 {
		return
	}
	if reply.Cut {
		x.Cut = true
		half := send[:len(send)/2]
		w.Write(half)
		x.Body = half
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		panic(http.ErrAbortHandler)
	}
	pieces := 1
	if reply.Slow {
		pieces = 4
	}
	for i := 0; i < pieces; i++ {
		part := send[i*len(send)/pieces : (i+1)*len(send)/pieces]
		if _, err := w.Write(part); err != nil {
			x.Cut = true
			return
		}
		x.Body = append(x.Body, part...)
		if reply.Slow || reply.Chunked {
			if f, ok := w.(http.Flusher); ok {
				f.Flush()
			}
		}
		if reply.Slow && i < pieces-1 {
			time.Sleep(3 * time.Millisecond)
		}
	}
}

// resourceKey names a resource: path and query, members sorted, without
// the credential a query may carry nor a presigned URL's parameters (as S3
// serves an object whoever signed the URL, and whatever x-id says).
func resourceKey(u *url.URL) string {
	var members []string
	// A SAS (a query with sig) reads the blob its path names, whatever its
	// grant says, as Azure serves it.
	sas := strings.Contains("&"+u.RawQuery, "&sig=")
	for _, m := range strings.Split(u.RawQuery, "&") {
		if name, _, _ := strings.Cut(m, "="); sas && model.IsSASField(name) {
			continue
		}
		if m != "" && !strings.HasPrefix(m, "access_token=") && !strings.HasPrefix(m, "X-Amz-") && !strings.HasPrefix(m, "x-id=") && !strings.Contains(m, "SECRET") {
			members = append(members, m)
		}
	}
	sort.Strings(members)
	return u.Path + "?" + strings.Join(members, "&")
}

// negotiateLanguage picks the language of a response from the request's
// preference among those the origin has.
func negotiateLanguage(h http.Header) string {
	best, bestQ := "en", -1.0
	for _, m := range strings.Split(h.Get("Accept-Language"), ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(m), ";")
		tag = strings.ToLower(strings.TrimSpace(tag))
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			q, _ = strconv.ParseFloat(v, 64)
		}
		if (tag == "de" || tag == "fr" || tag == "en") && q > bestQ {
			best, bestQ = tag, q
		}
	}
	return best
}

// principalOf is who the origin serves: the credential a request carries,
// whatever its form (an AWS signature names its access key id).
func principalOf(req *http.Request, body []byte) string {
	if a := req.Header.Get("Authorization"); a != "" {
		if i := strings.Index(a, "Credential="); i >= 0 {
			akid, _, _ := strings.Cut(a[i+len("Credential="):], "/")
			return akid
		}
		if v, ok := strings.CutPrefix(a, "Basic "); ok {
			b, _ := base64.StdEncoding.DecodeString(v)
			user, _, _ := strings.Cut(string(b), ":")
			return user
		}
		return a
	}
	for _, h := range []string{"Cookie", "X-Api-Key"} {
		if v := req.Header.Get(h); v != "" {
			return v
		}
	}
	if v := req.URL.Query().Get("access_token"); v != "" {
		return v
	}
	if v := req.URL.Query().Get("X-Amz-Credential"); v != "" {
		akid, _, _ := strings.Cut(v, "/")
		return akid
	}
	if who := sdkPrincipal(req); who != "" {
		return who
	}
	if vals, err := url.ParseQuery(string(body)); err == nil && vals.Get("access_token") != "" {
		return vals.Get("access_token")
	}
	var obj map[string]any
	if json.Unmarshal(body, &obj) == nil {
		if v, ok := obj["access_token"].(string); ok {
			return v
		}
	}
	return ""
}

type rep struct {
	id   string
	body []byte
}

// representation is what the origin sends for a resource in a version, to
// a principal, selected by the request headers the reply varies on: the
// same bytes whenever these are the same, so that parts of it join.
func representation(resKey string, version int, principal, vary string, h http.Header, lang string, size int, method string) rep {
	d := sha256.New()
	fmt.Fprintf(d, "%s\x00%d\x00%s", resKey, version, principal)
	for _, n := range strings.Split(vary, ",") {
		n = http.CanonicalHeaderKey(strings.TrimSpace(n))
		switch n {
		case "":
		case "Accept-Language":
			fmt.Fprintf(d, "\x00lang=%s", lang)
		default:
			fmt.Fprintf(d, "\x00%s=%s", n, strings.Join(h.Values(n), ","))
		}
	}
	if method != http.MethodGet && method != http.MethodHead {
		fmt.Fprintf(d, "\x00%s", method)
	}
	id := hex.EncodeToString(d.Sum(nil))[:16]
	body := []byte(fmt.Sprintf("rep=%s res=%s v=%d lang=%s\n", id, resKey, version, lang))
	for len(body) < size {
		body = append(body, id[len(body)%len(id)])
	}
	return rep{id: id, body: body}
}

// notModified reports a conditional request the current representation
// satisfies (RFC 9110 §13.1.1-2).
func notModified(req, resp http.Header, changedAt time.Time) bool {
	if inm := req.Get("If-None-Match"); inm != "" {
		etag := strings.TrimPrefix(resp.Get("ETag"), "W/")
		if etag == "" {
			return false
		}
		for _, t := range strings.Split(inm, ",") {
			if strings.TrimPrefix(strings.TrimSpace(t), "W/") == etag {
				return true
			}
		}
		return false
	}
	if ims := req.Get("If-Modified-Since"); ims != "" && resp.Get("Last-Modified") != "" {
		t, err := http.ParseTime(ims)
		return err == nil && !changedAt.Truncate(time.Second).After(t)
	}
	return false
}

// clock is the virtual clock the session and the origin share.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// gzipped is b in the gzip content coding.
func gzipped(b []byte) []byte {
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write(b)
	zw.Close()
	return z.Bytes()
}

// sdkPrincipal is who an SDK-shaped credential names (sdkCredential): a
// query parameter or header holding "SECRET" and who's name.
func sdkPrincipal(req *http.Request) string {
	texts := []string{req.URL.RawQuery}
	for _, vs := range req.Header {
		texts = append(texts, vs...)
	}
	for _, text := range texts {
		if _, rest, ok := strings.Cut(text, "SECRET"); ok {
			for _, who := range []string{"alice", "bob"} {
				if strings.Contains(rest, who) {
					return who
				}
			}
		}
	}
	return ""
}
