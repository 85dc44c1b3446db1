package session

import (
	"os"
	"regexp"
	"slices"
	"testing"
)

// docs/installing.md lists every Cache-Status detail the session can
// write, and nothing else.
func TestCacheStatusDetailsAreDocumented(t *testing.T) {
	doc, err := os.ReadFile("../docs/installing.md")
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
	for _, d := range details {
		if !slices.Contains(documented, string(d)) {
			t.Errorf("detail %q is not in docs/installing.md", d)
		}
	}
	for _, d := range documented {
		if !slices.Contains(details, detail(d)) {
			t.Errorf("docs/installing.md lists %q, which the session never writes", d)
		}
	}
}
