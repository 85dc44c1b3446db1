package mongo

import (
	"bytes"
	"fmt"
	"io"
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
// size (already bounded by max_body_bytes). A frame that says it holds
// another size is corrupt before anything is decoded, and decoding stops
// one byte past size: a small frame that expands to far more (a zstd bomb:
// 57 KB claiming 512 MiB) never makes a read allocate more than the
// document declared.
func (c *compressor) decompress(stored []byte, size int64) ([]byte, error) {
	var h zstd.Header
	if err := h.Decode(stored); err != nil {
		return nil, err
	}
	if h.HasFCS && h.FrameContentSize != uint64(size) {
		return nil, fmt.Errorf("the frame holds %d bytes, the document says %d", h.FrameContentSize, size)
	}
	if h.HasFCS {
		// What this store writes (EncodeAll says the size): the shared
		// decoder, into a buffer of that size; a frame whose blocks
		// overrun its declared size fails at the block that does.
		return c.dec.DecodeAll(stored, make([]byte, 0, size))
	}
	// A frame without its size (not this store's): a decoder of its own,
	// read no further than size.
	if h.WindowSize > uint64(maxWindow) {
		return nil, fmt.Errorf("a window of %d bytes", h.WindowSize)
	}
	dec, err := zstd.NewReader(bytes.NewReader(stored), zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true), zstd.WithDecoderMaxWindow(maxWindow), zstd.WithDecoderMaxMemory(uint64(size)+1))
	if err != nil {
		return nil, err
	}
	defer dec.Close()
	out := bytes.NewBuffer(make([]byte, 0, size))
	if _, err := io.Copy(out, io.LimitReader(dec, size+1)); err != nil {
		return nil, err
	}
	if int64(out.Len()) != size {
		return nil, fmt.Errorf("%d bytes, the document says %d", out.Len(), size)
	}
	return out.Bytes(), nil
}

// maxWindow bounds the window a frame without its content size may ask the
// decoder for (the encoder here writes its size, and uses 8 MiB windows).
const maxWindow = 64 << 20

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
