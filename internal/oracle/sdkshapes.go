package oracle

import (
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/reqcache/reqcache/internal/oracle/shapes"
)

// sdkShapes are the shapes of the requests the SDKs in clients/ send
// (internal/oracle/shapes): the generator gives some requests one of
// them, so that every SDK added there widens what the model test hunts.
var sdkShapes = shapes.Corpus()

// sdkRand is the random source of the SDK shapes of a seed: its own, so
// that a seed's other draws stay what they were before the corpus grew.
func sdkRand(seed int64) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(seed)^0x5d5c0de, uint64(seed)>>32^0x243f6a8885a308d3))
}

// withSDKShape gives r, one time in four, the shape of a request an SDK
// sends with r's method: its headers and query parameters with values of
// their shapes, written in lower case one time in three (as Azure's SDKs
// write them into the header map), and its credentials (Request.Creds,
// filled in by build for r.Who; an anonymous request sends none).
func (g gen) withSDKShape(r *Request) {
	if g.sdk == nil || g.sdk.Float64() >= 0.25 {
		return
	}
	var fits []shapes.Shape
	for _, s := range sdkShapes {
		if s.Method == r.Method || r.Method == "HEAD" && s.Method == "GET" || r.Method == "DELETE" && s.Method == "PUT" {
			if s.Header["Upgrade"] == "" { // a websocket handshake is no cache's business
				fits = append(fits, s)
			}
		}
	}
	if len(fits) == 0 {
		return
	}
	s := fits[g.sdk.IntN(len(fits))]
	lower := g.sdk.IntN(3) == 0
	r.SDK = s.SDK
	names := make([]string, 0, len(s.Header))
	for name := range s.Header {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		class := s.Header[name]
		switch {
		case class == shapes.ETag, name == "Content-Encoding", name == "Cache-Control", name == "Expect":
			continue // a caller's validator, a coding of the body the origin would have to undo, a directive the generator draws itself
		case class == shapes.Range && r.Method != "GET":
			continue
		}
		if lower {
			name = strings.ToLower(name)
		}
		if shapes.IsCredential(class) {
			r.addCred("h:"+name, class)
			continue
		}
		r.Header[name] = sdkValue(class, r.Step, g.sdk)
	}
	params := make([]string, 0, len(s.Query))
	for name := range s.Query {
		params = append(params, name)
	}
	sort.Strings(params)
	var query []string
	for _, name := range params {
		class := s.Query[name]
		if shapes.IsCredential(class) {
			r.addCred("q:"+name, class)
			continue
		}
		query = append(query, url.QueryEscape(name)+"="+url.QueryEscape(sdkValue(class, r.Step, g.sdk)))
	}
	if len(query) > 0 {
		sep := "?"
		if strings.Contains(r.Path, "?") {
			sep = "&"
		}
		r.Path += sep + strings.Join(query, "&")
	}
	if len(r.Creds) > 0 && r.Who != "" {
		r.Where = "sdk" // the shape's credentials stand for the request's
	}
}

func (r *Request) addCred(slot, class string) {
	if r.Creds == nil {
		r.Creds = map[string]string{}
	}
	r.Creds[slot] = class
}

// sdkEpoch is the time the SDK-shaped dates count from.
var sdkEpoch = time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)

// sdkValue is a value of a shape that is no credential. Dates, ids and
// hashes change from step to step, as an SDK's do from request to
// request; literals are the SDK's own.
func sdkValue(class string, step int, rnd *rand.Rand) string {
	at := sdkEpoch.Add(time.Duration(step) * time.Second)
	switch class {
	case shapes.HTTPDate:
		return at.Format("Mon, 02 Jan 2006 15:04:05 GMT")
	case shapes.ISOBasic:
		return at.Format("20060102T150405Z")
	case shapes.RFC3339:
		return sdkEpoch.Add(time.Hour).Format(time.RFC3339) // an expiry: the same for a grant's requests
	case shapes.UUID:
		return fmt.Sprintf("%08x-0000-4000-8000-%012x", step, step*2654435761)
	case shapes.Range:
		return []string{"bytes=0-9", "bytes=2-4", "bytes=5-14"}[rnd.IntN(3)]
	case shapes.Number:
		return "2"
	case shapes.Token:
		return fmt.Sprintf("%016x%016x", step*2654435761, step)
	case shapes.Text:
		return "sdk text"
	}
	if lit, ok := strings.CutPrefix(class, "="); ok {
		return lit
	}
	return "sdk"
}

// sdkCredential is who's credential of a class for a slot ("h:Name" or
// "q:name"), as its SDK sends it: the same for every request of who, but
// a signature, which changes with every request as the SDKs' do (its
// principal, the account or access key, stays). leak lists a value to
// look for in the clear beyond "SECRET".
func sdkCredential(who, slot, class string, step int) (value, leak string) {
	name := strings.ToLower(slot[2:])
	switch class {
	case shapes.GoogleKey:
		k := "AIza" + "SECRET_" + who + "_" + name
		return k + strings.Repeat("0", 39-len(k)), ""
	case shapes.Secret:
		return "SECRET-" + who + "-" + name, ""
	}
	scheme := strings.TrimPrefix(class, shapes.AuthPre)
	switch strings.ToLower(scheme) {
	case "sharedkey", "sharedkeylite":
		return fmt.Sprintf("%s acct%s:SECRETSIG%08x", scheme, who, step*2654435761), ""
	case "aws4-hmac-sha256":
		return fmt.Sprintf("AWS4-HMAC-SHA256 Credential=AKID%s/20261207/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=SECRETSIG%08x", strings.ToUpper(who), step*2654435761), ""
	case "basic":
		v := base64.StdEncoding.EncodeToString([]byte(who + ":" + "SECRET-" + who + "-pw"))
		return "Basic " + v, v
	}
	return scheme + " SECRET-" + who + "-" + name, ""
}
