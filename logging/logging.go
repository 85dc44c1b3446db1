// Package logging builds reqcache's zap logger from the [logging] table of
// the configuration, and masks secrets in what is logged.
//
// The library is silent by default: without a [logging] table (or with
// level = "off") New returns zap.NewNop(). A logger given with
// reqcache.WithLogger or session.WithLogger takes precedence over the
// configuration.
package logging

import (
	"fmt"
	"io"
	"os"
	"strings"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/reqcache/reqcache/config"
)

// New returns the logger that cfg describes, writing to standard error: a
// no-op logger when cfg.Configured is false or cfg.Level is "off", else a
// logger at cfg.Level ("debug", "info", "warn", "error") in cfg.Format
// ("console" or "json"). An empty level is "warn", an empty format
// "console"; any other value is an error (a *config.Error naming the key).
func New(cfg config.Logging) (*zap.Logger, error) {
	return NewTo(cfg, os.Stderr)
}

// NewTo is New writing to w instead of standard error. Writes to w are
// serialised.
func NewTo(cfg config.Logging, w io.Writer) (*zap.Logger, error) {
	if !cfg.Configured {
		return zap.NewNop(), nil
	}
	level, off, err := parseLevel(cfg.Level)
	if err != nil {
		return nil, err
	}
	enc, err := encoder(cfg.Format)
	if err != nil {
		return nil, err
	}
	if off {
		return zap.NewNop(), nil
	}
	if w == nil {
		w = io.Discard
	}
	sink := zapcore.Lock(zapcore.AddSync(w))
	core := zapcore.NewCore(enc, sink, level)
	return zap.New(core, zap.ErrorOutput(sink)), nil
}

// parseLevel reads logging.level; off reports "off".
func parseLevel(s string) (level zapcore.Level, off bool, err error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "debug":
		return zapcore.DebugLevel, false, nil
	case "info":
		return zapcore.InfoLevel, false, nil
	case "warn", "":
		return zapcore.WarnLevel, false, nil
	case "error":
		return zapcore.ErrorLevel, false, nil
	case "off":
		return zapcore.InvalidLevel, true, nil
	}
	return 0, false, &config.Error{Key: "logging.level",
		Err: fmt.Errorf("unknown level %q (want debug, info, warn, error or off)", s)}
}

// encoder reads logging.format.
func encoder(s string) (zapcore.Encoder, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "console", "":
		ec := zap.NewDevelopmentEncoderConfig()
		ec.EncodeTime = zapcore.ISO8601TimeEncoder
		ec.CallerKey, ec.StacktraceKey = "", ""
		return zapcore.NewConsoleEncoder(ec), nil
	case "json":
		ec := zap.NewProductionEncoderConfig()
		ec.EncodeTime = zapcore.ISO8601TimeEncoder
		ec.CallerKey, ec.StacktraceKey = "", ""
		return zapcore.NewJSONEncoder(ec), nil
	}
	return nil, &config.Error{Key: "logging.format",
		Err: fmt.Errorf("unknown format %q (want console or json)", s)}
}
