// Package reqbody reads a request's body for the cache key, whole up to a
// limit, without changing the request.
package reqbody

import (
	"bytes"
	"io"
	"net/http"
)

// Read reads a request's body for its cache key without changing req (the
// RoundTripper contract): the caller's body is consumed and closed, and
// the trips send a copy of the bytes. When the body is larger
// than limit, whole is the body to send instead: what was read, then the
// rest, still streaming.
func Read(req *http.Request, limit int64) (body []byte, whole io.ReadCloser, err error) {
	if req.GetBody != nil {
		if rc, err := req.GetBody(); err == nil {
			body, err := io.ReadAll(io.LimitReader(rc, limit+1))
			rc.Close()
			if err == nil && int64(len(body)) <= limit {
				req.Body.Close()
				return body, nil, nil
			}
		}
	}
	prefix, err := io.ReadAll(io.LimitReader(req.Body, limit+1))
	if err != nil {
		req.Body.Close()
		return nil, nil, err
	}
	if int64(len(prefix)) > limit {
		return nil, struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(prefix), req.Body), req.Body}, nil
	}
	req.Body.Close()
	return prefix, nil, nil
}
