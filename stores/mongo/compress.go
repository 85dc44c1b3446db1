package mongo

import (
	"mime"
	"net/http"
	"strings"

	"github.com/klauspost/compress/zstd"
)

// Bodies are stored compressed ([mongo] compress = "zstd", the default):
// JSON and text shrink several times, and the documents keep their
// readable metadata (status, headers, URL, times, body_size is the body's
// own size). A body is stored as it is when compressing would not pay:
// small, already compressed (a Content-Encoding, images, audio, video,
// archives), or compressing to more than 90% of its size. Documents
// written without compression (by older versions, or with compress =
// "none") read as before.

const (
	encodingZstd    = "zstd"
	minCompressSize = 512
)

// compressor is safe for concurrent use: EncodeAll and DecodeAll are.
type compressor struct {
	enc *zstd.Encoder
	dec *zstd.Decoder
}

func newCompressor() (*compressor, error) {
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithEncoderConcurrency(1))
	if err != nil {
		return nil, err
	}
	dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(0), zstd.WithDecoderMaxMemory(maxBodySize))
	if err != nil {
		return nil, err
	}
	return &compressor{enc: enc, dec: dec}, nil
}

// compress returns the bytes to store and their encoding ("" when stored
// as they are).
func (c *compressor) compress(body []byte, h http.Header) ([]byte, string) {
	if c == nil || len(body) < minCompressSize || alreadyCompressed(h) {
		return body, ""
	}
	out := c.enc.EncodeAll(body, make([]byte, 0, len(body)/4))
	if len(out) > len(body)*9/10 {
		return body, ""
	}
	return out, encodingZstd
}

// decompress reads back what compress stored; size is the body's own
// size, so that a corrupt document cannot make it allocate more.
func (c *compressor) decompress(stored []byte, size int64) ([]byte, error) {
	return c.dec.DecodeAll(stored, make([]byte, 0, min(size, 16<<20)))
}

func (c *compressor) close() {
	if c != nil {
		c.dec.Close()
	}
}

// alreadyCompressed reports content that compressing again would not
// shrink.
func alreadyCompressed(h http.Header) bool {
	if ce := h.Get("Content-Encoding"); ce != "" && !strings.EqualFold(ce, "identity") {
		return true
	}
	mt, _, _ := mime.ParseMediaType(h.Get("Content-Type"))
	switch {
	case mt == "image/svg+xml":
		return false
	case strings.HasPrefix(mt, "image/"), strings.HasPrefix(mt, "audio/"), strings.HasPrefix(mt, "video/"), strings.HasPrefix(mt, "font/woff"):
		return true
	}
	switch mt {
	case "application/zip", "application/gzip", "application/x-gzip", "application/x-bzip2", "application/x-xz",
		"application/zstd", "application/x-7z-compressed", "application/x-rar-compressed", "application/vnd.rar":
		return true
	}
	return false
}
