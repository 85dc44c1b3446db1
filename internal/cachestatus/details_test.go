package cachestatus

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/reqcache/reqcache/internal/rules"
)

// docs/installing.md lists every Cache-Status detail the session can
// write (the constants of type Detail in cachestatus.go), and nothing else.
func TestCacheStatusDetailsAreDocumented(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "cachestatus.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var inCode []string
	ast.Inspect(f, func(n ast.Node) bool {
		v, ok := n.(*ast.ValueSpec)
		if !ok || v.Type == nil || v.Type.(*ast.Ident).Name != "Detail" {
			return true
		}
		for _, val := range v.Values {
			lit, ok := val.(*ast.BasicLit)
			if !ok {
				t.Errorf("detail %s is not a string literal", v.Names[0])
				continue
			}
			if s, _ := strconv.Unquote(lit.Value); s != "" {
				inCode = append(inCode, s)
			}
		}
		return true
	})
	// The reasons rules.Decide gives a stale answer are its detail
	// (Stale), and every refusal of the storability decision (Refused).
	for _, r := range []rules.Reason{rules.ReasonStaleIfError, rules.ReasonStaleWhileRevalidate, rules.ReasonMaxStale, rules.ReasonOnlyIfCached} {
		if !slices.Contains(inCode, string(Stale(r))) {
			t.Errorf("rules.Reason %q is no detail", r)
		}
	}
	refusals := constantsOf(t, "../rules/store.go", "Refusal")
	if len(refusals) < 10 {
		t.Fatalf("found only %d refusals in rules/store.go: %q", len(refusals), refusals)
	}
	for _, r := range refusals {
		if !slices.Contains(inCode, string(Refused(rules.Refusal(r)))) {
			t.Errorf("rules.Refusal %q is no detail", r)
		}
	}
	if len(inCode) < 20 {
		t.Fatalf("found only %d details in cachestatus.go: %q", len(inCode), inCode)
	}
	doc, err := os.ReadFile("../../docs/installing.md")
	if err != nil {
		t.Fatal(err)
	}
	section := regexp.MustCompile("(?s)<!-- details -->(.*)<!-- /details -->").FindSubmatch(doc)
	if section == nil {
		t.Fatal("docs/installing.md has no <!-- details --> list")
	}
	var documented []string
	for _, m := range regexp.MustCompile("`([a-z_-]+)`").FindAllSubmatch(section[1], -1) {
		documented = append(documented, string(m[1]))
	}
	for _, d := range inCode {
		if !slices.Contains(documented, d) {
			t.Errorf("detail %q is not in docs/installing.md", d)
		}
	}
	for _, d := range documented {
		if !slices.Contains(inCode, d) {
			t.Errorf("docs/installing.md lists %q, which the session never writes", d)
		}
	}
}

// Every declared detail is produced: the session's code names it
// (cachestatus.DetailX), or the rules give it as a reason (Reason: "x",
// which the session passes on as a detail). A detail declared and
// documented but never written (body-credentials was, issue 37 finding 9)
// fails here.
func TestEveryDetailIsProduced(t *testing.T) {
	declared := map[string]string{} // constant name → value
	f, err := parser.ParseFile(token.NewFileSet(), "cachestatus.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	ast.Inspect(f, func(n ast.Node) bool {
		if v, ok := n.(*ast.ValueSpec); ok && v.Type != nil && v.Type.(*ast.Ident).Name == "Detail" {
			for i, val := range v.Values {
				if lit, ok := val.(*ast.BasicLit); ok {
					if s, _ := strconv.Unquote(lit.Value); s != "" {
						declared[v.Names[i].Name] = s
					}
				}
			}
		}
		return true
	})
	produced := map[string]bool{}
	for _, dir := range []string{"../../session", "../rules"} {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range files {
			if strings.HasSuffix(name, "_test.go") {
				continue
			}
			pf, err := parser.ParseFile(token.NewFileSet(), name, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			ast.Inspect(pf, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.SelectorExpr:
					if x, ok := n.X.(*ast.Ident); ok && x.Name == "cachestatus" {
						produced[declared[n.Sel.Name]] = true
					}
				case *ast.KeyValueExpr:
					if k, ok := n.Key.(*ast.Ident); ok && k.Name == "Reason" {
						if lit, ok := n.Value.(*ast.BasicLit); ok {
							s, _ := strconv.Unquote(lit.Value)
							produced[s] = true
						}
					}
				case *ast.ValueSpec: // the rules' Reason constants
					for _, val := range n.Values {
						if lit, ok := val.(*ast.BasicLit); ok && lit.Kind == token.STRING {
							s, _ := strconv.Unquote(lit.Value)
							produced[s] = true
						}
					}
				}
				return true
			})
		}
	}
	if len(declared) < 20 {
		t.Fatalf("found only %d details", len(declared))
	}
	for name, v := range declared {
		if !produced[v] {
			t.Errorf("detail %s (%q) is declared but nothing in session/ or internal/rules produces it", name, v)
		}
	}
}

// constantsOf lists the string constants of type typ in a Go file.
func constantsOf(t *testing.T, file, typ string) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), file, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	ast.Inspect(f, func(n ast.Node) bool {
		v, ok := n.(*ast.ValueSpec)
		if !ok || v.Type == nil {
			return true
		}
		if id, ok := v.Type.(*ast.Ident); !ok || id.Name != typ {
			return true
		}
		for _, val := range v.Values {
			if lit, ok := val.(*ast.BasicLit); ok {
				if s, err := strconv.Unquote(lit.Value); err == nil {
					out = append(out, s)
				}
			}
		}
		return true
	})
	return out
}
