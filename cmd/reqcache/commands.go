package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/reqcache/reqcache/session"
	"github.com/reqcache/reqcache/stores"
)

// row is one stored response as ls prints it and show extends it; its
// JSON field names are part of the command's contract with scripts.
type row struct {
	Key       string     `json:"key"`
	URL       string     `json:"url"`
	Method    string     `json:"method"`
	Status    int        `json:"status"`
	Size      int        `json:"size"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt *time.Time `json:"expires_at"` // nil: never expires
	Expired   bool       `json:"expired"`
}

// rowOf turns a stored response into its stable, UTC-timed form.
func rowOf(r *session.CachedResponse) row {
	out := row{Key: r.Key, URL: r.URL, Method: r.Method, Status: r.StatusCode, Size: r.Size(),
		CreatedAt: r.CreatedAt.UTC(), Expired: r.IsExpired}
	if !r.ExpiresAt.IsZero() {
		t := r.ExpiresAt.UTC()
		out.ExpiresAt = &t
	}
	return out
}

// responses reads the stored responses f and keep accept, sorted by URL
// then creation time, because the store yields them in no order and
// operators diff listings.
func (e *env) responses(ctx context.Context, f session.Filter, keep func(*session.CachedResponse) bool) ([]*session.CachedResponse, error) {
	var out []*session.CachedResponse
	for r, err := range e.sess.Cache().Responses(ctx, f) {
		if err != nil {
			return nil, err
		}
		if keep == nil || keep(r) {
			out = append(out, r)
		}
	}
	sortResponses(out)
	return out, nil
}

// sortResponses gives listings a stable order: URL, creation time, key.
func sortResponses(rs []*session.CachedResponse) {
	slices.SortFunc(rs, func(a, b *session.CachedResponse) int {
		if c := strings.Compare(a.URL, b.URL); c != 0 {
			return c
		}
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.Key, b.Key)
	})
}

// hostOf is the host[:port] stats groups by and ls -host matches.
func hostOf(rawURL string) string {
	if u, err := url.Parse(rawURL); err == nil && u.Host != "" {
		return u.Host
	}
	return "(none)"
}

// isURL tells a URL argument from a key: keys are hex, URLs have a scheme.
func isURL(arg string) bool { return strings.Contains(arg, "://") }

// checkURL rejects a URL argument that cannot be parsed, before the store
// is opened: a usage error needs no store.
func checkURL(arg string) error {
	if _, err := url.Parse(arg); err != nil {
		return usagef("bad URL %q: %v", arg, err)
	}
	return nil
}

// urlMatcher selects the responses stored for a URL, normalized as the
// library stores URLs (with the configuration's ignored parameters), so
// that a URL copied from a browser or a log matches.
func (e *env) urlMatcher(arg string) (func(*session.CachedResponse) bool, error) {
	norm, err := session.NormalizeURL(arg, e.cfg.IgnoredParameters)
	if err != nil {
		return nil, usagef("bad URL %q: %v", arg, err)
	}
	return func(r *session.CachedResponse) bool { return r.URL == norm }, nil
}

// minPrefix is the shortest key prefix accepted: ls shows 12 characters,
// and shorter prefixes would too often match several responses.
const minPrefix = 6

// findKeys resolves key arguments to stored responses: a whole key by a
// direct read (no scan of a large collection), anything else as a prefix,
// all prefixes in a single scan. A prefix matching several responses is a
// usage error; a key matching nothing maps to no responses.
func (e *env) findKeys(ctx context.Context, args []string) (map[string][]*session.CachedResponse, error) {
	found := make(map[string][]*session.CachedResponse, len(args))
	var prefixes []string
	now := time.Now()
	for _, k := range args {
		ent, err := e.sess.Store().Get(ctx, k)
		switch {
		case err == nil:
			found[k] = []*session.CachedResponse{{Entry: ent, IsExpired: ent.Expired(now)}}
			continue
		case errors.Is(err, stores.ErrCorrupt):
			return nil, fmt.Errorf("the response stored under %s cannot be read: %w", k, err)
		case !errors.Is(err, stores.ErrNotFound):
			return nil, err
		}
		if len(k) < minPrefix {
			return nil, usagef("no response is stored under key %q, and a key prefix needs at least %d characters", k, minPrefix)
		}
		prefixes = append(prefixes, k)
	}
	if len(prefixes) == 0 {
		return found, nil
	}
	if _, err := e.responses(ctx, session.Filter{}, func(r *session.CachedResponse) bool {
		for _, p := range prefixes {
			if strings.HasPrefix(r.Key, p) {
				found[p] = append(found[p], r)
			}
		}
		return false
	}); err != nil {
		return nil, err
	}
	for _, p := range prefixes {
		if n := len(found[p]); n > 1 {
			return nil, usagef("key prefix %q matches %d responses; give more of it", p, n)
		}
	}
	return found, nil
}

// cmdStats answers "how big is the cache and what is in it" in one call.
func cmdStats(e *env, fs *flag.FlagSet) func(context.Context, []string) error {
	return func(ctx context.Context, args []string) error {
		if err := noArgs(args); err != nil {
			return err
		}
		if err := e.open(ctx); err != nil {
			return err
		}
		st := struct {
			Backend string         `json:"backend"`
			Entries int            `json:"entries"`
			Bytes   int64          `json:"bytes"`
			Expired int            `json:"expired"`
			Fresh   int            `json:"fresh"`
			Hosts   map[string]int `json:"hosts"`
		}{Backend: e.backend(), Hosts: map[string]int{}}
		for r, err := range e.sess.Cache().Responses(ctx, session.Filter{}) {
			if err != nil {
				return err
			}
			st.Entries++
			st.Bytes += int64(r.Size())
			if r.IsExpired {
				st.Expired++
			} else {
				st.Fresh++
			}
			st.Hosts[hostOf(r.URL)]++
		}
		if e.json {
			return writeJSON(e.stdout, st)
		}
		t := newTable(e.stdout)
		t.row("config", e.cfgSource)
		t.row("store", e.storeName())
		t.row("entries", strconv.Itoa(st.Entries))
		t.row("bytes", humanBytes(st.Bytes))
		t.row("fresh", strconv.Itoa(st.Fresh))
		t.row("expired", strconv.Itoa(st.Expired))
		hosts := make([]string, 0, len(st.Hosts))
		for h := range st.Hosts {
			hosts = append(hosts, h)
		}
		slices.Sort(hosts)
		for _, h := range hosts {
			t.row("host "+h, strconv.Itoa(st.Hosts[h]))
		}
		return t.flush()
	}
}

// filterFlags registers the filters ls and export share and returns the
// Filter they select, once the flags are parsed.
func filterFlags(fs *flag.FlagSet) func() session.Filter {
	expired := fs.Bool("expired", false, "only expired responses")
	fresh := fs.Bool("fresh", false, "only fresh responses")
	host := fs.String("host", "", "only responses from `HOST` (with a :port, only that port)")
	olderThan := new(age)
	fs.Var(olderThan, "older-than", "only responses created longer ago than `DURATION` (90m, 36h, 7d)")
	return func() session.Filter {
		return session.Filter{Expired: *expired, Fresh: *fresh, OlderThan: time.Duration(*olderThan), Host: *host}
	}
}

// cmdLs lists responses so that an operator can find the one to show or
// remove.
func cmdLs(e *env, fs *flag.FlagSet) func(context.Context, []string) error {
	filter := filterFlags(fs)
	return func(ctx context.Context, args []string) error {
		if err := noArgs(args); err != nil {
			return err
		}
		if err := e.open(ctx); err != nil {
			return err
		}
		rs, err := e.responses(ctx, filter(), nil)
		if err != nil {
			return err
		}
		rows := make([]row, len(rs))
		for i, r := range rs {
			rows[i] = rowOf(r)
		}
		if e.json {
			return writeJSON(e.stdout, rows)
		}
		t := newTable(e.stdout)
		t.row("KEY", "METHOD", "STATUS", "SIZE", "CREATED", "EXPIRES", "URL")
		expired := 0
		for _, r := range rows {
			t.row(r.Key[:min(12, len(r.Key))], r.Method, strconv.Itoa(r.Status), humanBytes(int64(r.Size)),
				stamp(r.CreatedAt), expiresText(r), r.URL)
			if r.Expired {
				expired++
			}
		}
		if err := t.flush(); err != nil {
			return err
		}
		// The count on stderr, so that the table stays what a script
		// reads: an empty table says why it is empty.
		fmt.Fprintln(e.stderr, lsSummary(len(rows), expired, filter()))
		return nil
	}
}

// lsSummary says what ls listed: how many, how many expired (which answer
// only once revalidated, or stale where stale_if_error allows), and, for
// an empty list, what the filters left out.
func lsSummary(n, expired int, f session.Filter) string {
	if n == 0 {
		if f != (session.Filter{}) {
			return "no cached response matches the filters (ls without them lists every one)"
		}
		return "no cached response"
	}
	out := fmt.Sprintf("%d %s", n, plural(n, "response", "responses"))
	switch {
	case expired == n:
		out += ", all expired: each is fetched again (or revalidated) when next requested; ls -expired lists only these"
	case expired > 0:
		out += fmt.Sprintf(", %d expired (ls -fresh lists the others)", expired)
	}
	return out
}

// shown is a response as show prints it.
type shown struct {
	row
	Header        http.Header `json:"header"`
	RequestHeader http.Header `json:"request_header"`
	BodyBytes     int         `json:"body_bytes"`
	BodyPreview   string      `json:"body_preview"`
	BodyBinary    bool        `json:"body_binary"`
}

// cmdShow prints what a response holds, to check what a program will be
// answered with.
func cmdShow(e *env, fs *flag.FlagSet) func(context.Context, []string) error {
	bodyBytes := fs.Int("body-bytes", 512, "show the first `N` bytes of the body (0: none)")
	return func(ctx context.Context, args []string) error {
		if len(args) != 1 {
			return argCount("one KEY or URL", args)
		}
		if *bodyBytes < 0 {
			return usagef("-body-bytes must not be negative")
		}
		arg := args[0]
		if isURL(arg) {
			if err := checkURL(arg); err != nil {
				return err
			}
		}
		if err := e.open(ctx); err != nil {
			return err
		}
		var rs []*session.CachedResponse
		if isURL(arg) {
			match, err := e.urlMatcher(arg)
			if err != nil {
				return err
			}
			if rs, err = e.responses(ctx, session.Filter{}, match); err != nil {
				return err
			}
		} else {
			found, err := e.findKeys(ctx, []string{arg})
			if err != nil {
				return err
			}
			rs = found[arg]
		}
		if len(rs) == 0 {
			return fmt.Errorf("%w: no stored response for %s", errNotFound, arg)
		}
		out := make([]shown, len(rs))
		for i, r := range rs {
			preview, binary := previewBody(r.Body, *bodyBytes)
			out[i] = shown{row: rowOf(r), Header: r.Header, RequestHeader: r.RequestHeader,
				BodyBytes: len(r.Body), BodyPreview: preview, BodyBinary: binary}
			if out[i].Header == nil {
				out[i].Header = http.Header{}
			}
			if out[i].RequestHeader == nil {
				out[i].RequestHeader = http.Header{}
			}
		}
		if e.json {
			return writeJSON(e.stdout, out)
		}
		for i, s := range out {
			if i > 0 {
				fmt.Fprintln(e.stdout)
			}
			writeShown(e.stdout, s)
		}
		return nil
	}
}

// writeShown prints one response the way an HTTP exchange reads: request,
// status, headers, body.
func writeShown(w io.Writer, s shown) {
	fmt.Fprintf(w, "key:      %s\nrequest:  %s %s\nstatus:   %d %s\ncreated:  %s\nexpires:  %s\nsize:     %s\n",
		s.Key, s.Method, s.URL, s.Status, http.StatusText(s.Status), stamp(s.CreatedAt), expiresText(s.row), humanBytes(int64(s.Size)))
	fmt.Fprintln(w, "\nresponse headers:")
	writeHeader(w, "  ", s.Header)
	if len(s.RequestHeader) > 0 {
		fmt.Fprintln(w, "\nrequest headers (as stored, redacted):")
		writeHeader(w, "  ", s.RequestHeader)
	}
	fmt.Fprintln(w)
	switch {
	case s.BodyBytes == 0:
		fmt.Fprintln(w, "(empty body)")
	case s.BodyBinary:
		fmt.Fprintf(w, "(%d bytes binary)\n", s.BodyBytes)
	case len(s.BodyPreview) < s.BodyBytes:
		fmt.Fprintf(w, "%s\n… (%d of %d bytes shown)\n", s.BodyPreview, len(s.BodyPreview), s.BodyBytes)
	default:
		fmt.Fprintln(w, s.BodyPreview)
	}
}

// cmdRm removes what an operator selects, through the library's Delete so
// that URL matching and time rules are the library's.
func cmdRm(e *env, fs *flag.FlagSet) func(context.Context, []string) error {
	var urls multiFlag
	fs.Var(&urls, "url", "every response stored for `URL` (repeatable)")
	expired := fs.Bool("expired", false, "every expired response")
	var olderThan age
	fs.Var(&olderThan, "older-than", "every response created longer ago than `DURATION` (90m, 36h, 7d)")
	return func(ctx context.Context, args []string) error {
		if len(args) == 0 && len(urls) == 0 && !*expired && olderThan == 0 {
			return usagef("nothing selected: give KEYs or URLs, -url, -expired or -older-than")
		}
		sel := session.Selector{Expired: *expired, OlderThan: time.Duration(olderThan)}
		for _, u := range urls {
			if !isURL(u) {
				return usagef("-url %q is not a URL (want scheme://host/…)", u)
			}
		}
		var keys []string
		for _, a := range args {
			if isURL(a) {
				urls = append(urls, a)
			} else {
				keys = append(keys, a)
			}
		}
		for _, u := range urls {
			if err := checkURL(u); err != nil {
				return err
			}
		}
		sel.URLs = urls
		if err := e.open(ctx); err != nil {
			return err
		}
		if len(keys) > 0 {
			found, err := e.findKeys(ctx, keys)
			if err != nil {
				return err
			}
			for _, k := range keys {
				for _, r := range found[k] {
					sel.Keys = append(sel.Keys, r.Key)
				}
			}
		}
		n, err := e.sess.Cache().Delete(ctx, sel)
		if err != nil {
			return err
		}
		if e.json {
			if err := writeJSON(e.stdout, map[string]int{"removed": n}); err != nil {
				return err
			}
		} else {
			fmt.Fprintf(e.stdout, "removed %d %s\n", n, plural(n, "response", "responses"))
		}
		if n == 0 {
			return fmt.Errorf("%w: no stored response was selected", errNotFound)
		}
		return nil
	}
}

// cmdReseal writes every stored response again sealed with the first
// [encryption] key (Cache.Reseal), after a rotation.
func cmdReseal(e *env, fs *flag.FlagSet) func(context.Context, []string) error {
	return func(ctx context.Context, args []string) error {
		if err := noArgs(args); err != nil {
			return err
		}
		if err := e.open(ctx); err != nil {
			return err
		}
		if e.cfg.Encryption.KeyEnv == "" && e.cfg.Encryption.KeyFile == "" {
			return errors.New("reseal needs [encryption] keys: key_env or key_file")
		}
		resealed, skipped, err := e.sess.Cache().Reseal(ctx)
		if err != nil {
			return err
		}
		if e.json {
			return writeJSON(e.stdout, map[string]int{"resealed": resealed, "skipped": skipped})
		}
		fmt.Fprintf(e.stdout, "resealed %d %s", resealed, plural(resealed, "response", "responses"))
		if skipped > 0 {
			fmt.Fprintf(e.stdout, " (%d skipped: unreadable with the keys held, or past their discard time)", skipped)
		}
		fmt.Fprintln(e.stdout)
		return nil
	}
}

// cmdClear empties the cache, asking first because it cannot be undone and
// a shared MongoDB cache may serve many programs.
func cmdClear(e *env, fs *flag.FlagSet) func(context.Context, []string) error {
	yes := fs.Bool("yes", false, "do not ask for confirmation (for scripts)")
	return func(ctx context.Context, args []string) error {
		if err := noArgs(args); err != nil {
			return err
		}
		if err := e.open(ctx); err != nil {
			return err
		}
		c := e.sess.Cache()
		n, err := c.Len(ctx)
		if err != nil {
			return err
		}
		if !*yes {
			// The question goes to stderr so that stdout stays the result
			// (JSON with -json).
			fmt.Fprintf(e.stderr, "Delete all %d cached %s from %s? [y/N] ", n, plural(n, "response", "responses"), e.storeName())
			answer, err := readLine(ctx, e.stdin)
			if !isTerminal(e.stdin) || err != nil {
				fmt.Fprintln(e.stderr) // nothing echoed the answer's newline
			}
			if err != nil {
				return err
			}
			if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
				return errors.New("not confirmed; nothing deleted (use -yes in scripts)")
			}
		}
		if err := c.Clear(ctx); err != nil {
			return err
		}
		if e.json {
			return writeJSON(e.stdout, map[string]int{"removed": n})
		}
		fmt.Fprintf(e.stdout, "removed %d %s\n", n, plural(n, "response", "responses"))
		return nil
	}
}

// readLine reads the answer to a question, giving up when ctx ends (Ctrl-C)
// instead of leaving the command blocked on a terminal read. A stdin that
// ends without a newline gives what it held.
func readLine(ctx context.Context, r io.Reader) (string, error) {
	type result struct {
		line string
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		line, err := bufio.NewReader(r).ReadString('\n')
		if err == io.EOF {
			err = nil
		}
		ch <- result{line, err}
	}()
	select {
	case res := <-ch:
		return res.line, res.err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// isTerminal reports whether r is a terminal, whose echo already ended the
// prompt's line.
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// cmdExport writes the stored responses as JSON Lines, to move a cache or
// keep it as a fixture.
func cmdExport(e *env, fs *flag.FlagSet) func(context.Context, []string) error {
	out := fs.String("o", "", "write to `FILE` instead of stdout")
	filter := filterFlags(fs)
	return func(ctx context.Context, args []string) error {
		if err := noArgs(args); err != nil {
			return err
		}
		if err := e.open(ctx); err != nil {
			return err
		}
		w := e.stdout
		var f *os.File
		if *out != "" && *out != "-" {
			var err error
			if f, err = os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600); err != nil {
				return err
			}
			w = f
		}
		n, err := e.sess.Cache().Export(ctx, w, filter())
		if f != nil {
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			return err
		}
		// An export is never sealed: say so where the store is.
		sealedStore := e.cfg.Encryption.KeyEnv != "" || e.cfg.Encryption.KeyFile != ""
		if sealedStore {
			fmt.Fprintln(e.stderr, "note: the store is sealed ([encryption]) but an export is not: it holds the responses in the clear; keep it as you keep the keys")
		}
		if f == nil {
			return nil // stdout holds the export itself
		}
		if e.json {
			return writeJSON(e.stdout, map[string]any{"exported": n, "sealed": false})
		}
		clear := ""
		if sealedStore {
			clear = " (in the clear: an export is never sealed)"
		}
		_, err = fmt.Fprintf(e.stdout, "exported %d %s to %s%s\n", n, plural(n, "response", "responses"), *out, clear)
		return err
	}
}

// cmdImport stores what export wrote, into the configured backend.
func cmdImport(e *env, fs *flag.FlagSet) func(context.Context, []string) error {
	trust := fs.Bool("trust-keys", false, "keep the keys the file names for entries whose request cannot be keyed again (credentials under separate_credentials, request bodies, a custom key function), and its aliases: for a file this cache or one sharing its credential key wrote")
	return func(ctx context.Context, args []string) error {
		if len(args) != 1 {
			return argCount("one FILE (or - for stdin)", args)
		}
		var r io.Reader = e.stdin
		if args[0] != "-" {
			f, err := os.Open(args[0])
			if err != nil {
				return err
			}
			defer f.Close()
			r = f
		}
		if err := e.open(ctx); err != nil {
			return err
		}
		refused := 0
		opts := []session.ImportOption{session.OnRefused(func(line int, why string) {
			// A response this cache would not have stored from the
			// origin either: skipped, said on stderr.
			refused++
			fmt.Fprintf(e.stderr, "line %d: not stored (%s)\n", line, why)
		})}
		if *trust {
			opts = append(opts, session.TrustKeys())
		}
		n, err := e.sess.Cache().Import(ctx, r, opts...)
		if err != nil {
			return err
		}
		if e.json {
			return writeJSON(e.stdout, map[string]int{"imported": n, "refused": refused})
		}
		_, err = fmt.Fprintf(e.stdout, "imported %d %s\n", n, plural(n, "response", "responses"))
		if err == nil && refused > 0 {
			_, err = fmt.Fprintf(e.stdout, "refused %d (the storability decision: see stderr)\n", refused)
		}
		return err
	}
}

// cmdGet fetches through the cache, to check from the shell what a program
// would get and whether it came from the cache.
func cmdGet(e *env, fs *flag.FlagSet) func(context.Context, []string) error {
	verbose := fs.Bool("v", false, "print the response headers too")
	body := fs.Bool("body", false, "print the body to stdout (the status lines then go to stderr)")
	return func(ctx context.Context, args []string) error {
		if len(args) != 1 {
			return argCount("one URL", args)
		}
		u, err := url.Parse(args[0])
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return usagef("bad URL %q: want http://HOST/… or https://HOST/…", args[0])
		}
		if err := e.open(ctx); err != nil {
			return err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, args[0], nil)
		if err != nil {
			return usagef("bad URL %q: %v", args[0], err)
		}
		resp, err := e.sess.Client().Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		// Read to the end, as a program would: a body read only in part is
		// not what the library is meant to store.
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			return fmt.Errorf("reading the body of %s: %w", args[0], err)
		}
		cacheStatus := strings.Join(resp.Header.Values("Cache-Status"), ", ")
		info := session.InfoOf(resp)
		if e.json {
			out := map[string]any{"url": args[0], "status": resp.StatusCode, "cache_status": cacheStatus,
				"from_cache": info.FromCache, "stored": info.Stored, "key": info.Key, "header": resp.Header}
			if *body {
				if utf8.Valid(b) {
					out["body"] = string(b)
				} else {
					out["body_base64"] = base64.StdEncoding.EncodeToString(b)
				}
			}
			return writeJSON(e.stdout, out)
		}
		meta := e.stdout
		if *body {
			meta = e.stderr
		}
		fmt.Fprintf(meta, "%s\nCache-Status: %s\n", resp.Status, cacheStatus)
		if *verbose {
			writeHeader(meta, "", resp.Header)
		}
		if *body {
			if _, err := e.stdout.Write(b); err != nil {
				return err
			}
		}
		return nil
	}
}

// noArgs rejects positional arguments for commands that take none, most
// often a flag written after an argument.
func noArgs(args []string) error {
	if len(args) > 0 {
		return usagef("unexpected argument %q (flags go before arguments)", args[0])
	}
	return nil
}

// argCount explains a wrong number of arguments, pointing out the usual
// cause: a flag written after an argument, which the flag package leaves
// as an argument.
func argCount(want string, args []string) error {
	for _, a := range args[min(1, len(args)):] {
		if strings.HasPrefix(a, "-") {
			return usagef("want %s, got %d arguments: flags such as %s go before arguments", want, len(args), a)
		}
	}
	return usagef("want %s, got %d arguments", want, len(args))
}

// multiFlag lets -url be repeated.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// age is a positive duration flag that also takes days ("7d"), the unit
// operators think of cache age in and time.ParseDuration lacks.
type age time.Duration

func (a *age) String() string { return time.Duration(*a).String() }

func (a *age) Set(s string) error {
	var d time.Duration
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.ParseFloat(n, 64)
		if err != nil {
			return fmt.Errorf("bad duration %q (want 90m, 36h, 7d…)", s)
		}
		d = time.Duration(days * float64(24*time.Hour))
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return fmt.Errorf("bad duration %q (want 90m, 36h, 7d…)", s)
		}
	}
	if d <= 0 {
		return fmt.Errorf("duration %q must be positive", s)
	}
	*a = age(d)
	return nil
}
