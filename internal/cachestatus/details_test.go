package cachestatus

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"regexp"
	"slices"
	"strconv"
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
	// The reasons rules.Decide gives a stale answer are its detail.
	for _, r := range []rules.Reason{rules.ReasonStaleIfError, rules.ReasonStaleWhileRevalidate, rules.ReasonMaxStale, rules.ReasonOnlyIfCached} {
		if !slices.Contains(inCode, string(r)) {
			t.Errorf("rules.Reason %q is no detail", r)
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
