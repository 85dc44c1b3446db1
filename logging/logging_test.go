package logging_test

import (
	"bytes"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/reqcache/reqcache/config"
	"github.com/reqcache/reqcache/logging"
)

func TestSilentUnlessConfigured(t *testing.T) {
	l, err := logging.New(config.Default().Logging)
	if err != nil {
		t.Fatal(err)
	}
	if l.Core().Enabled(zapcore.ErrorLevel) {
		t.Fatal("the default logger must log nothing")
	}
	l, _ = logging.New(config.Logging{Configured: true, Level: "off"})
	if l.Core().Enabled(zapcore.ErrorLevel) {
		t.Fatal(`level "off" must log nothing`)
	}
}

func TestLevelsAndFormats(t *testing.T) {
	var buf bytes.Buffer
	l, err := logging.NewTo(config.Logging{Configured: true, Level: "info", Format: "json"}, &buf)
	if err != nil {
		t.Fatal(err)
	}
	l.Debug("hidden")
	l.Info("shown", zap.String("k", "v"))
	out := buf.String()
	if strings.Contains(out, "hidden") || !strings.Contains(out, `"msg":"shown"`) || !strings.Contains(out, `"k":"v"`) {
		t.Fatalf("json output %q", out)
	}
	buf.Reset()
	l, _ = logging.NewTo(config.Logging{Configured: true, Level: "warn", Format: "console"}, &buf)
	l.Info("hidden")
	l.Warn("shown")
	if out := buf.String(); strings.Contains(out, "hidden") || !strings.Contains(out, "shown") || strings.HasPrefix(out, "{") {
		t.Fatalf("console output %q", out)
	}
	for _, bad := range []config.Logging{{Configured: true, Level: "loud"}, {Configured: true, Format: "xml"}} {
		if _, err := logging.New(bad); err == nil {
			t.Fatalf("%+v accepted", bad)
		}
	}
}

func TestMaskURI(t *testing.T) {
	for _, tc := range []struct{ in, secret string }{
		{"mongodb://user:s3cret@db:27017/x", "s3cret"},
		{"mongodb+srv://user:p%40ss@cluster.example.com/?retryWrites=true", "p%40ss"},
		{"mongodb://db:27017/?authSource=admin&password=hunter2", "hunter2"},
		{"mongodb://u:pw@h1:1,h2:2/db", "pw"},
		{"%%%://a:zz-secret-zz@", "zz-secret-zz"},
	} {
		got := logging.MaskURI(tc.in)
		if strings.Contains(got, tc.secret) {
			t.Errorf("MaskURI(%q) = %q leaks the secret", tc.in, got)
		}
	}
	if got := logging.MaskURI("mongodb://db:27017/x"); got != "mongodb://db:27017/x" {
		t.Errorf("URI without password changed: %q", got)
	}
	if got := logging.MaskURI("mongodb://user:s3cret@db:27017/x"); !strings.Contains(got, "db:27017") || !strings.Contains(got, "user") {
		t.Errorf("mask hides the host or user: %q", got)
	}
}
