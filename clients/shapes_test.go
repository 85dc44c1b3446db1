package clients_test

import (
	"flag"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/reqcache/reqcache/internal/oracle/shapes"
)

// The shapes of the requests the SDKs send reach the model test through
// internal/oracle/shapes/corpus.json: every origin records them
// (newOrigin), and a full run checks that the corpus holds each one.
var updateShapes = flag.Bool("update-shapes", false, "rewrite internal/oracle/shapes/corpus.json from the shapes the SDKs sent (scripts/sdk-shapes.sh)")

const corpusPath = "../internal/oracle/shapes/corpus.json"

var recorded struct {
	sync.Mutex
	shapes  []shapes.Shape
	secrets []string
}

// sdkSecrets names the secrets a test configures its SDK with (and any
// the SDK derives from them that the test can see, such as a SAS
// signature): the recorder marks a value holding one as a credential.
func sdkSecrets(values ...string) {
	recorded.Lock()
	defer recorded.Unlock()
	recorded.secrets = append(recorded.secrets, values...)
}

// recordShape notes the shape of a request that reached a test's origin,
// under the test's name.
func recordShape(t *testing.T, r *http.Request) {
	sdk, _, _ := strings.Cut(strings.TrimPrefix(t.Name(), "Test"), "/")
	recorded.Lock()
	defer recorded.Unlock()
	recorded.shapes = append(recorded.shapes, shapes.Of(sdk, r, recorded.secrets))
}

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if code == 0 && flag.Lookup("test.run").Value.String() == "" {
		code = checkCorpus()
	}
	os.Exit(code)
}

// checkCorpus writes the corpus (-update-shapes) or fails when it misses
// a shape this run saw.
func checkCorpus() int {
	recorded.Lock()
	defer recorded.Unlock()
	if *updateShapes {
		if err := os.WriteFile(corpusPath, shapes.Encode(recorded.shapes), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		return 0
	}
	have := map[string]bool{}
	for _, s := range shapes.Corpus() {
		have[s.Key()] = true
	}
	missing := 0
	for _, s := range recorded.shapes {
		if k := s.Key(); !have[k] {
			have[k] = true
			missing++
			fmt.Fprintf(os.Stderr, "shape not in the corpus: %s\n", k)
		}
	}
	if missing > 0 {
		fmt.Fprintf(os.Stderr, "FAIL: %d request shapes the SDKs sent are not in %s: run scripts/sdk-shapes.sh\n", missing, corpusPath)
		return 1
	}
	return 0
}
