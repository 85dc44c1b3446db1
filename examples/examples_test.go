// Package examples_test runs every example that needs no server of its
// own: each checks its own claims and exits non-zero when reqcache does
// not behave as it shows, so running them is a test of the library and
// keeps the examples from rotting.
package examples_test

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func TestExamplesRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs every example")
	}
	for _, tc := range []struct {
		name, want string
		args       []string
	}{
		{"quickstart", "The cache holds 1 response", nil},
		{"toml", "origin requests: 7", nil},
		{"scopes", "origin requests: 4", nil},
		{"options", "origin requests: 4", nil},
		{"wrap", "origin requests: 2", nil},
		{"thirdparty", "origin requests: 1", nil},
		{"replay", "origin requests: 2 (all while recording)", nil},
		{"cli", "origin requests: 1 (the second run read the snapshot", nil},
		{"debugpage", "debug page: http://127.0.0.1:", []string{"-listen", "127.0.0.1:0", "-duration", "1s"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, "go", append([]string{"run", "./examples/" + tc.name, "-delay", "1ms"}, tc.args...)...)
			cmd.Dir = ".." // the repository root, where the examples find their files
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("go run ./examples/%s: %v\n%s", tc.name, err, out)
			}
			if !strings.Contains(string(out), tc.want) {
				t.Fatalf("go run ./examples/%s: output lacks %q:\n%s", tc.name, tc.want, out)
			}
		})
	}
}
