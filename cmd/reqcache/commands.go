package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/reqcache/reqcache/session"
)

// row is one stored response as ls prints it.
type row struct {
	Key       string     `json:"key"`
	Method    string     `json:"method"`
	URL       string     `json:"url"`
	Status    int        `json:"status"`
	Size      int        `json:"size"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt *time.Time `json:"expires_at"`
	Expired   bool       `json:"expired"`
}

func rowOf(r *session.CachedResponse) row {
	out := row{Key: r.Key, Method: r.Method, URL: r.URL, Status: r.StatusCode, Size: r.Size(), CreatedAt: r.CreatedAt, Expired: r.IsExpired}
	if !r.ExpiresAt.IsZero() {
		t := r.ExpiresAt
		out.ExpiresAt = &t
	}
	return out
}

// responses returns the stored responses keep accepts, sorted by URL then
// creation time.
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
	slices.SortFunc(out, func(a, b *session.CachedResponse) int {
		if c := strings.Compare(a.URL, b.URL); c != 0 {
			return c
		}
		return a.CreatedAt.Compare(b.CreatedAt)
	})
	return out, nil
}

func hostOf(rawURL string) string {
	if u, err := url.Parse(rawURL); err == nil && u.Host != "" {
		return u.Host
	}
	return "(none)"
}

func cmdStats(e *env, fs *flag.FlagSet) func(context.Context, []string) error {
	return func(ctx context.Context, args []string) error {
		if err := noArgs(args); err != nil {
			return err
		}
		if err := e.open(ctx); err != nil {
			return err
		}
		defer e.close()
		rs, err := e.responses(ctx, session.Filter{}, nil)
		if err != nil {
			return err
		}
		st := struct {
			Backend string         `json:"backend"`
			Entries int            `json:"entries"`
			Bytes   int64          `json:"bytes"`
			Expired int            `json:"expired"`
			Fresh   int            `json:"fresh"`
			Hosts   map[string]int `json:"hosts"`
		}{Backend: e.backend(), Entries: len(rs), Hosts: map[string]int{}}
		for _, r := range rs {
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
		t.row("backend", st.Backend)
		t.row("entries", fmt.Sprint(st.Entries))
		t.row("bytes", humanBytes(st.Bytes))
		t.row("fresh", fmt.Sprint(st.Fresh))
		t.row("expired", fmt.Sprint(st.Expired))
		hosts := make([]string, 0, len(st.Hosts))
		for h := range st.Hosts {
			hosts = append(hosts, h)
		}
		slices.Sort(hosts)
		for _, h := range hosts {
			t.row("host "+h, fmt.Sprint(st.Hosts[h]))
		}
		return t.flush()
	}
}

func cmdLs(e *env, fs *flag.FlagSet) func(context.Context, []string) error {
	expired := fs.Bool("expired", false, "only expired responses")
	fresh := fs.Bool("fresh", false, "only fresh responses")
	host := fs.String("host", "", "only responses from this host")
	olderThan := fs.Duration("older-than", 0, "only responses created longer ago")
	return func(ctx context.Context, args []string) error {
		if err := noArgs(args); err != nil {
			return err
		}
		if *olderThan < 0 {
			return &usageError{"-older-than must be positive"}
		}
		if err := e.open(ctx); err != nil {
			return err
		}
		defer e.close()
		rs, err := e.responses(ctx, session.Filter{Expired: *expired, Fresh: *fresh, OlderThan: *olderThan}, func(r *session.CachedResponse) bool {
			return *host == "" || strings.EqualFold(hostOf(r.URL), *host)
		})
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
		for _, r := range rows {
			t.row(r.Key[:min(12, len(r.Key))], r.Method, fmt.Sprint(r.Status), humanBytes(int64(r.Size)), stamp(&r.CreatedAt), expires(r), r.URL)
		}
		return t.flush()
	}
}

func cmdShow(e *env, fs *flag.FlagSet) func(context.Context, []string) error {
	bodyBytes := fs.Int("body-bytes", 512, "how much of the body to show")
	return func(ctx context.Context, args []string) error {
		if len(args) != 1 {
			return &usageError{"show takes one KEY or URL"}
		}
		if *bodyBytes < 0 {
			return &usageError{"-body-bytes must not be negative"}
		}
		if err := e.open(ctx); err != nil {
			return err
		}
		defer e.close()
		match, err := e.matcher(args[0])
		if err != nil {
			return err
		}
		rs, err := e.responses(ctx, session.Filter{}, match)
		if err != nil {
			return err
		}
		if len(rs) == 0 {
			return fmt.Errorf("%w: no stored response for %s", errNotFound, args[0])
		}
		if !strings.Contains(args[0], "://") && len(rs) > 1 {
			return &usageError{fmt.Sprintf("key prefix %q matches %d responses; give more of it", args[0], len(rs))}
		}
		type shown struct {
			row
			Header      http.Header `json:"header"`
			BodyPreview string      `json:"body_preview"`
			BodyBytes   int         `json:"body_bytes"`
			BodyBinary  bool        `json:"body_binary"`
		}
		out := make([]shown, len(rs))
		for i, r := range rs {
			preview, binary := previewBody(r.Body, *bodyBytes)
			out[i] = shown{row: rowOf(r), Header: r.Header, BodyPreview: preview, BodyBytes: len(r.Body), BodyBinary: binary}
		}
		if e.json {
			return writeJSON(e.stdout, out)
		}
		for i, s := range out {
			if i > 0 {
				fmt.Fprintln(e.stdout)
			}
			fmt.Fprintf(e.stdout, "key:     %s\nrequest: %s %s\nstatus:  %d\ncreated: %s\nexpires: %s\n\n", s.Key, s.Method, s.URL, s.Status, stamp(&s.CreatedAt), expires(s.row))
			writeHeader(e.stdout, s.Header)
			fmt.Fprintln(e.stdout)
			switch {
			case s.BodyBinary:
				fmt.Fprintf(e.stdout, "(%d bytes binary)\n", s.BodyBytes)
			case len(s.BodyPreview) < s.BodyBytes:
				fmt.Fprintf(e.stdout, "%s\n… (%d of %d bytes shown)\n", s.BodyPreview, len(s.BodyPreview), s.BodyBytes)
			default:
				fmt.Fprintln(e.stdout, s.BodyPreview)
			}
		}
		return nil
	}
}

// matcher selects responses by URL (normalized as stored) or key prefix.
func (e *env) matcher(arg string) (func(*session.CachedResponse) bool, error) {
	if strings.Contains(arg, "://") {
		norm, err := session.NormalizeURL(arg, e.cfg.IgnoredParameters)
		if err != nil {
			return nil, &usageError{fmt.Sprintf("bad URL %q: %v", arg, err)}
		}
		return func(r *session.CachedResponse) bool { return r.URL == norm }, nil
	}
	if len(arg) < 6 {
		return nil, &usageError{fmt.Sprintf("key %q is too short: give at least 6 characters", arg)}
	}
	return func(r *session.CachedResponse) bool { return strings.HasPrefix(r.Key, arg) }, nil
}

func cmdRm(e *env, fs *flag.FlagSet) func(context.Context, []string) error {
	var urls multiFlag
	fs.Var(&urls, "url", "remove every response stored for this URL (repeatable)")
	expired := fs.Bool("expired", false, "remove every expired response")
	olderThan := fs.Duration("older-than", 0, "remove every response created longer ago")
	return func(ctx context.Context, args []string) error {
		if len(args) == 0 && len(urls) == 0 && !*expired && *olderThan == 0 {
			return &usageError{"rm needs KEYs, -url, -expired or -older-than"}
		}
		if *olderThan < 0 {
			return &usageError{"-older-than must be positive"}
		}
		if err := e.open(ctx); err != nil {
			return err
		}
		defer e.close()
		sel := session.Selector{URLs: urls, Expired: *expired, OlderThan: *olderThan}
		for _, k := range args {
			match, err := e.matcher(k)
			if err != nil {
				return err
			}
			rs, err := e.responses(ctx, session.Filter{}, match)
			if err != nil {
				return err
			}
			if len(rs) > 1 {
				return &usageError{fmt.Sprintf("key prefix %q matches %d responses; give more of it", k, len(rs))}
			}
			for _, r := range rs {
				sel.Keys = append(sel.Keys, r.Key)
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
			fmt.Fprintf(e.stdout, "removed %d response(s)\n", n)
		}
		if n == 0 {
			return fmt.Errorf("%w: no stored response was selected", errNotFound)
		}
		return nil
	}
}

func cmdClear(e *env, fs *flag.FlagSet) func(context.Context, []string) error {
	yes := fs.Bool("yes", false, "do not ask for confirmation")
	return func(ctx context.Context, args []string) error {
		if err := noArgs(args); err != nil {
			return err
		}
		if err := e.open(ctx); err != nil {
			return err
		}
		defer e.close()
		n, err := e.sess.Cache().Len(ctx)
		if err != nil {
			return err
		}
		if !*yes {
			fmt.Fprintf(e.stdout, "Delete all %d cached responses from the %s backend (%s)? [y/N] ", n, e.backend(), e.cfgSource)
			answer, _ := bufio.NewReader(e.stdin).ReadString('\n')
			if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
				return fmt.Errorf("not confirmed; nothing deleted (use -yes in scripts)")
			}
		}
		if err := e.sess.Cache().Clear(ctx); err != nil {
			return err
		}
		if e.json {
			return writeJSON(e.stdout, map[string]int{"removed": n})
		}
		fmt.Fprintf(e.stdout, "removed %d response(s)\n", n)
		return nil
	}
}

func cmdGet(e *env, fs *flag.FlagSet) func(context.Context, []string) error {
	verbose := fs.Bool("v", false, "print the response headers")
	body := fs.Bool("body", false, "print the body")
	return func(ctx context.Context, args []string) error {
		if len(args) != 1 {
			return &usageError{"get takes one URL"}
		}
		if u, err := url.Parse(args[0]); err != nil || (u.Scheme != "http" && u.Scheme != "https") {
			return &usageError{fmt.Sprintf("bad URL %q: want http:// or https://", args[0])}
		}
		if err := e.open(ctx); err != nil {
			return err
		}
		defer e.close()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, args[0], nil)
		if err != nil {
			return err
		}
		resp, err := e.sess.Client().Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		info := session.InfoOf(resp)
		if e.json {
			b, err := io.ReadAll(resp.Body)
			if err != nil {
				return err
			}
			out := map[string]any{"status": resp.StatusCode, "cache_status": resp.Header.Get("Cache-Status"),
				"from_cache": info.FromCache, "key": info.Key, "header": resp.Header}
			if *body {
				out["body"] = string(b)
			}
			return writeJSON(e.stdout, out)
		}
		fmt.Fprintf(e.stdout, "%s\nCache-Status: %s\n", resp.Status, resp.Header.Get("Cache-Status"))
		if *verbose {
			writeHeader(e.stdout, resp.Header)
		}
		if *body {
			fmt.Fprintln(e.stdout)
			if _, err := io.Copy(e.stdout, resp.Body); err != nil {
				return err
			}
		}
		return nil
	}
}

// multiFlag is a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }
