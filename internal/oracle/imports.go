package oracle

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/reqcache/reqcache/internal/oracle/model"
	"github.com/reqcache/reqcache/session"
)

// This file is the import steps: what a program restoring an export does
// (replay), and what an attacker who can write an import file does
// (forge). An imported response is, for the model, an exchange of its own
// made at the import: the line's request and response, stored then.

// importStep runs an import step: it exports what the cache holds, and
// imports that export, or one line of it forged.
func (d *driver) importStep(r Request) {
	ctx := context.Background()
	sess := d.sess[r.Process]
	var export bytes.Buffer
	if _, err := sess.Cache().Export(ctx, &export, session.Filter{}); err != nil {
		d.problem("import", "export: %v", err)
		return
	}
	if r.Import == "replay" {
		if export.Len() == 0 {
			return
		}
		// The cache's own file, trusted: nothing it holds may change
		// what any request gets.
		if _, err := sess.Cache().Import(ctx, &export, session.TrustKeys()); err != nil {
			d.problem("import", "step %d: importing the cache's own export: %v", r.Step, err)
		}
		return
	}
	how, _ := strings.CutPrefix(r.Import, "forge:")
	lines := exportedLines(export.Bytes())
	path := strings.SplitN(r.Path, "?", 2)[0]
	var pick, other map[string]any
	for _, l := range lines {
		u, _ := url.Parse(str(l["url"]))
		switch {
		case u == nil || l["key"] == nil:
		case pick == nil && u.Path == path && str(l["method"]) == "GET" && l["status"] == float64(200) && l["body"] != nil &&
			headerOf(l["headers"]).Get("Content-Encoding") == "" && headerOf(l["headers"]).Get("X-Oracle-Id") != "":
			pick = l
		case other == nil:
			other = l
		}
	}
	if pick == nil {
		return
	}
	orig, _ := strconv.ParseInt(headerOf(pick["headers"]).Get("X-Oracle-Id"), 10, 64)
	id := d.origin.newID()
	h := headerOf(pick["headers"])
	h.Set("X-Oracle-Id", strconv.FormatInt(id, 10))
	h.Set("Cache-Control", "max-age=600")
	switch how {
	case "set-cookie":
		h.Set("Set-Cookie", "sid=forged-"+strconv.FormatInt(id, 10)+"; Path=/")
	case "no-store":
		h.Set("Cache-Control", "no-store, max-age=600")
	case "status":
		pick["status"] = float64(203)
	case "key":
		if other != nil {
			pick["key"] = other["key"]
		}
	}
	pick["headers"] = h
	line, _ := json.Marshal(pick)
	n, err := sess.Cache().Import(ctx, bytes.NewReader(append(line, '\n')))
	if err != nil || n == 0 {
		// Refused (a key that is not its request's, or the storability
		// decision): nothing of it may answer anyone, which the model
		// checks by never hearing of its id.
		return
	}
	d.origin.imported(r.Step, r.Process, id, orig, pick, h)
}

// exportedLines are an export's lines, decoded, in key order (the order
// a store scans in is its own).
func exportedLines(b []byte) []map[string]any {
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		var l map[string]any
		if json.Unmarshal(sc.Bytes(), &l) == nil {
			out = append(out, l)
		}
	}
	sort.Slice(out, func(i, j int) bool { return str(out[i]["key"]) < str(out[j]["key"]) })
	return out
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// headerOf is a line's header object as an http.Header.
func headerOf(v any) http.Header {
	h := http.Header{}
	m, _ := v.(map[string]any)
	for k, vs := range m {
		list, _ := vs.([]any)
		for _, x := range list {
			h.Add(k, str(x))
		}
	}
	return h
}

// newID is a response id no exchange has.
func (o *origin) newID() int64 { return o.lastID.Add(1) }

// imported records a forged line the cache stored as an exchange of the
// import's moment: the line's request (as recorded, redacted), its
// response, and the body of the exchange it was forged from.
func (o *origin) imported(step, process int, id, from int64, line map[string]any, h http.Header) {
	created, _ := time.Parse(time.RFC3339Nano, str(line["created_at"]))
	u, _ := url.Parse(str(line["url"]))
	reqHeader := headerOf(line["request_headers"])
	host := reqHeader.Get("Host")
	reqHeader.Del("Host")
	status, _ := line["status"].(float64)
	body := []byte(str(line["body"]))
	if b64 := str(line["body_base64"]); b64 != "" {
		body, _ = base64.StdEncoding.DecodeString(b64)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	rep := body
	for _, x := range o.log {
		if x.ID == from {
			rep = x.Rep
			if x.RespHeader.Get("Content-Encoding") == "gzip" && h.Get("Content-Encoding") == "" {
				// The cache stored what the Transport decoded below it:
				// the line's representation is the decoded one (a range
				// of it counts its bytes, as the cache does).
				if zr, err := gzip.NewReader(bytes.NewReader(x.Rep)); err == nil {
					if plain, err := io.ReadAll(zr); err == nil {
						rep = plain
					}
				}
			}
		}
	}
	// The line's times are the exchange's: the cache decides its
	// freshness from them, as when the response arrived.
	req := &model.Request{Step: step, Process: process, Method: str(line["method"]), URL: u.String(), Host: host, Header: reqHeader, Time: created}
	x := &model.Exchange{
		ID: id, Step: step, Method: req.Method, Path: u.RequestURI(), Host: host, Header: reqHeader,
		Start: o.seq.Add(1), Time: created, Status: int(status), RespHeader: h, Rep: rep, Body: body,
		Imported: req,
	}
	x.End = o.seq.Add(1)
	o.log = append(o.log, x)
}

// problem records something the run got wrong that is not an answer.
func (d *driver) problem(kind, format string, args ...any) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.problems = append(d.problems, model.Violation{Kind: kind, Detail: fmt.Sprintf(format, args...)})
}
