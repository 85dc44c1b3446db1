package browsertest

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromium finds the browser scripts/test.sh installs (Debian's chromium
// package). Without one the test fails under CI and is skipped elsewhere.
func chromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("no Chromium: scripts/test.sh installs Debian's chromium package")
	}
	t.Skip("no Chromium on this machine (scripts/test.sh installs it)")
	return ""
}

// program is examples/debugpage running as its own process.
type program struct {
	page string // the page's address
}

// startProgram builds examples/debugpage once and runs it with args until
// the test ends.
func startProgram(t *testing.T, bin string, args ...string) *program {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"-listen", "127.0.0.1:0", "-delay", "1ms"}, args...)...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("the program printed no address: %v", err)
	}
	page, ok := strings.CutPrefix(strings.TrimSpace(line), "debug page: ")
	if !ok {
		t.Fatalf("unexpected first line %q", line)
	}
	p := &program{page: page}
	// Wait until the service has cached something.
	deadline := time.Now().Add(30 * time.Second)
	for {
		var ov struct{ Entries int }
		if err := getJSON(p.page+"?format=json", &ov); err == nil && ov.Entries >= 3 {
			return p
		}
		if time.Now().After(deadline) {
			t.Fatal("the program cached nothing in 30 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func getJSON(url string, v any) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

func buildProgram(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "debugpage")
	cmd := exec.Command("go", "build", "-o", bin, "./examples/debugpage")
	cmd.Dir = ".."
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building examples/debugpage: %v\n%s", err, out)
	}
	return bin
}

// browser starts headless Chromium with the flags this machine's closed
// network needs; the context it returns bounds each test's steps to a
// minute.
func browser(t *testing.T, exe string) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true), chromedp.NoFirstRun,
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil { // starts the browser: no timeout on this first call
		t.Fatalf("starting Chromium: %v", err)
	}
	steps, cancelSteps := context.WithTimeout(ctx, time.Minute)
	t.Cleanup(cancelSteps)
	return steps
}

// do runs steps, failing the test on an error.
func do(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatal(err)
	}
}

// run runs one action that returns a value.
func run[T any](t *testing.T, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

type css = chromedp.CSS

// secrets are what examples/debugpage sends: no page may show them.
var secrets = []string{"sk-demo-secret", "demo-token-secret"}

func TestPageInChromium(t *testing.T) {
	exe := chromium(t)
	bin := buildProgram(t)
	shots := os.Getenv("REQCACHE_SCREENSHOTS") // a directory: save the docs' screenshots there

	t.Run("read-only", func(t *testing.T) {
		p := startProgram(t, bin, "-every", "50ms")
		ctx := browser(t, exe)
		time.Sleep(1200 * time.Millisecond) // a few intervals of traffic for the chart

		do(t, ctx, chromedp.Navigate(p.page), chromedp.WaitVisible(css("#chart")))
		bars := run(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll('#chart rect.bar').length`))
		width := run(t, ctx, chromedp.Evaluate[float64](`document.querySelector('#chart').getBoundingClientRect().width`))
		ratio := run(t, ctx, chromedp.Text(css("#hit-ratio")))
		entries := run(t, ctx, chromedp.Text(css("#entries")))
		forms := run(t, ctx, chromedp.Evaluate[bool](`document.querySelector('form') !== null`))
		if bars < 1 || width < 300 || !strings.HasSuffix(ratio, "%") || entries == "0" || entries == "" {
			t.Fatalf("overview: %d bars, chart %.0f px wide, hit ratio %q, entries %q", bars, width, ratio, entries)
		}
		if forms {
			t.Fatal("the read-only overview offers forms")
		}
		// Its first seconds span a minute's slots of the chart, not a
		// strip at the right edge (issue 41, finding 5: 4 px a bar).
		drawn := run(t, ctx, chromedp.Evaluate[float64](`Array.from(document.querySelectorAll('#chart rect.bar')).reduce((s, r) => s + parseFloat(r.getAttribute('width')), 0)`))
		if drawn < 40 {
			t.Fatalf("the first seconds' bars are %.0f px wide together, want a minute's slot of the chart", drawn)
		}
		if shots != "" {
			screenshot(t, ctx, filepath.Join(shots, "debug-overview.png"))
		}

		// Filter the table by a URL substring.
		do(t, ctx,
			chromedp.Navigate(p.page+"entries"),
			chromedp.WaitVisible(css("#entries-table")),
			chromedp.SetValue(css(`input[name="q"]`), "/v1/users/"),
			chromedp.Click(css("#apply")),
			chromedp.WaitVisible(css(`input[name="q"][value="/v1/users/"]`)),
			chromedp.WaitVisible(css("#entries-table")),
		)
		urls := run(t, ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#entries-table tbody td.url')].map(td => td.textContent)`))
		if len(urls) == 0 {
			t.Fatal("the filtered table is empty")
		}
		for _, u := range urls {
			if !strings.Contains(u, "/v1/users/") || !strings.Contains(u, "api_key=REDACTED") {
				t.Errorf("filtered row %q: not a user, or its key shown", u)
			}
		}

		// Open an entry: why it is fresh, its redacted headers; a delete
		// from this page is refused.
		do(t, ctx, chromedp.Click(css("#entries-table tbody tr:first-child td.url a")), chromedp.WaitVisible(css("#why")))
		why := run(t, ctx, chromedp.Text(css("#why")))
		html := run(t, ctx, chromedp.OuterHTML(css("html")))
		if !strings.Contains(why, "max-age=30") || !strings.Contains(html, "REDACTED") {
			t.Errorf("entry page: why %q, REDACTED shown: %v", why, strings.Contains(html, "REDACTED"))
		}
		for _, s := range secrets {
			if strings.Contains(html, s) {
				t.Errorf("the entry page shows %q", s)
			}
		}
		if shots != "" {
			screenshot(t, ctx, filepath.Join(shots, "debug-entry.png"))
		}
		// The page has no delete button; a form made in the page to post
		// one anyway is refused.
		do(t, ctx,
			chromedp.Evaluate[chromedp.Void](`(() => {
				const f = document.createElement('form');
				f.id = 'forged'; f.method = 'post'; f.action = 'delete';
				for (const [k, v] of [['key', document.querySelector('#key').textContent], ['csrf', 'guess']]) {
					const i = document.createElement('input'); i.type = 'hidden'; i.name = k; i.value = v; f.appendChild(i);
				}
				const b = document.createElement('button'); b.id = 'forged-submit'; b.textContent = 'delete'; f.appendChild(b);
				document.body.appendChild(f);
			})()`),
			chromedp.Click(css("#forged-submit")),
			chromedp.WaitVisible(css("#message")),
		)
		if msg := run(t, ctx, chromedp.Text(css("#message"))); !strings.Contains(msg, "read-only") {
			t.Errorf("a delete posted from the read-only page: %q", msg)
		}
	})

	t.Run("changes", func(t *testing.T) {
		// One round of calls, then none: what is deleted stays deleted.
		p := startProgram(t, bin, "-allow-changes", "-every", "1h")
		ctx := browser(t, exe)
		do(t, ctx,
			chromedp.Navigate(p.page+"entries?q=/v1/status"),
			chromedp.WaitVisible(css("#entries-table")),
			chromedp.Click(css("#entries-table tbody tr:first-child td.url a")),
			chromedp.WaitVisible(css("#delete")),
		)
		key := run(t, ctx, chromedp.Text(css("#key")))
		do(t, ctx, chromedp.Click(css("#delete")), chromedp.WaitVisible(css("#flash")))
		if flash := run(t, ctx, chromedp.Text(css("#flash"))); flash != "Deleted 1 entry." {
			t.Errorf("after delete: %q", flash)
		}
		resp, err := http.Get(p.page + "entry?format=json&key=" + key)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("the deleted entry: %d, want 404", resp.StatusCode)
		}
	})
}

func screenshot(t *testing.T, ctx context.Context, path string) {
	t.Helper()
	png := run(t, ctx, chromedp.FullScreenshot(100))
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
}
