package clients_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/go-resty/resty/v2"
	"github.com/hashicorp/go-retryablehttp"
	openaiv3 "github.com/openai/openai-go/v3"
	openaiv3option "github.com/openai/openai-go/v3/option"
	goopenai "github.com/sashabaranov/go-openai"
	"github.com/stripe/stripe-go/v82"

	"github.com/reqcache/reqcache"
	"github.com/reqcache/reqcache/session"
)

// s3Origin imitates S3 (path-style) for one bucket: GetObject answers the
// object's current version with ETag and Last-Modified and no
// Cache-Control, as S3 does, naming the access key that signed the
// request; PutObject stores a new version.
func s3Origin(t *testing.T) (url string, gets *atomic.Int64) {
	var mu sync.Mutex
	objects := map[string]int{}
	gets = new(atomic.Int64)
	srv, _ := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		who := "anonymous"
		if _, cred, ok := strings.Cut(r.Header.Get("Authorization"), "Credential="); ok {
			who, _, _ = strings.Cut(cred, "/")
		} else if cred := r.URL.Query().Get("X-Amz-Credential"); cred != "" {
			who, _, _ = strings.Cut(cred, "/")
		}
		w.Header().Set("X-Amz-Request-Id", fmt.Sprint(time.Now().UnixNano()))
		switch r.Method {
		case http.MethodPut:
			io.Copy(io.Discard, r.Body)
			objects[r.URL.Path]++
			w.Header().Set("ETag", fmt.Sprintf(`"v%d"`, objects[r.URL.Path]))
		case http.MethodGet:
			gets.Add(1)
			v := objects[r.URL.Path]
			if v == 0 {
				w.Header().Set("Content-Type", "application/xml")
				w.WriteHeader(http.StatusNotFound)
				io.WriteString(w, `<Error><Code>NoSuchKey</Code></Error>`)
				return
			}
			w.Header().Set("ETag", fmt.Sprintf(`"v%d"`, v))
			w.Header().Set("Last-Modified", time.Now().Add(-48*time.Hour).UTC().Format(http.TimeFormat))
			w.Header().Set("Content-Type", "text/csv")
			fmt.Fprintf(w, "v%d for %s", v, who)
		}
	})
	return srv.URL, gets
}

func s3Client(endpoint, akid string, hc *http.Client) *s3.Client {
	opts := s3.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(endpoint),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(akid, "secret-of-"+akid, ""),
	}
	if hc != nil {
		opts.HTTPClient = hc
	}
	return s3.New(opts)
}

func getObject(t *testing.T, c *s3.Client) string {
	t.Helper()
	out, err := c.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String("reports"), Key: aws.String("q3.csv")})
	if err != nil {
		t.Fatalf("GetObject: %v", err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func putObject(t *testing.T, c *s3.Client, body string) {
	t.Helper()
	_, err := c.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String("reports"), Key: aws.String("q3.csv"), Body: strings.NewReader(body)})
	if err != nil {
		t.Fatalf("PutObject: %v", err)
	}
}

// aws-sdk-go-v2 builds its own client: Install alone does not cache it;
// reqcache.Transport does, per principal (SigV4 signs every request anew),
// PutObject (?x-id=PutObject) invalidates the object for every principal,
// and a presigned download hits too.
func TestAWSS3(t *testing.T) {
	endpoint, gets := s3Origin(t)
	install(t, nil)
	putObject(t, s3Client(endpoint, "AKIDALICE", nil), "a,b")

	own := s3Client(endpoint, "AKIDALICE", nil)
	for range 2 {
		getObject(t, own)
	}
	wantRequests(t, gets, 2, "the SDK's own client, after Install alone (uncached)")

	cached := &http.Client{Transport: reqcache.Transport(nil)}
	alice, bob := s3Client(endpoint, "AKIDALICE", cached), s3Client(endpoint, "AKIDBOB", cached)
	for range 6 {
		if body := getObject(t, alice); body != "v1 for AKIDALICE" {
			t.Fatalf("alice: %q", body)
		}
	}
	wantRequests(t, gets, 3, "six GetObjects by one principal through reqcache.Transport")
	if n, _ := reqcache.Installed().Cache().Len(context.Background()); n != 1 {
		t.Fatalf("six GetObjects by one principal: %d entries, want 1", n)
	}
	if body := getObject(t, bob); body != "v1 for AKIDBOB" {
		t.Fatalf("bob got %q: two principals share an entry", body)
	}
	wantRequests(t, gets, 4, "another principal")

	presign := s3.NewPresignClient(alice)
	for range 3 {
		req, err := presign.PresignGetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String("reports"), Key: aws.String("q3.csv")})
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.Get(req.URL) // a presigned download through the default client
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != "v1 for AKIDALICE" {
			t.Fatalf("presigned download: %q", b)
		}
	}
	wantRequests(t, gets, 5, "three presigned downloads by one principal")

	putObject(t, alice, "c,d")
	if body := getObject(t, bob); body != "v2 for AKIDBOB" {
		t.Fatalf("bob after alice's PutObject: %q, want the new version", body)
	}
	wantRequests(t, gets, 6, "after PutObject")
}

// resty builds its own transport: Install alone does not cache it; one
// line does.
func TestResty(t *testing.T) {
	srv, n := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		io.WriteString(w, `{"items":[1,2,3]}`)
	})
	install(t, nil)
	c := resty.New()
	for range 2 {
		if _, err := c.R().Get(srv.URL + "/items"); err != nil {
			t.Fatal(err)
		}
	}
	wantRequests(t, n, 2, "resty.New() after Install alone (uncached)")
	c.SetTransport(reqcache.Transport(c.GetClient().Transport))
	for i := range 3 {
		resp, err := c.R().Get(srv.URL + "/items")
		if err != nil {
			t.Fatal(err)
		}
		if got := resp.Header().Get("X-From-Cache") == "1"; got != (i > 0) || resp.String() != `{"items":[1,2,3]}` {
			t.Fatalf("resty request %d: X-From-Cache %q, body %q", i, resp.Header().Get("X-From-Cache"), resp.String())
		}
	}
	wantRequests(t, n, 3, "resty with reqcache.Transport")
}

// go-retryablehttp retries a 503 through its own transport; with
// reqcache.Transport the 503 is never stored and the 200 after it is.
func TestRetryableHTTPRetriesAreNotStored(t *testing.T) {
	var calls atomic.Int64
	srv, n := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Cache-Control", "max-age=60")
		io.WriteString(w, "ok")
	})
	install(t, nil)
	rc := retryablehttp.NewClient()
	rc.Logger = nil
	rc.RetryWaitMin, rc.RetryWaitMax = time.Millisecond, 5*time.Millisecond
	rc.HTTPClient.Transport = reqcache.Transport(rc.HTTPClient.Transport)
	for i := range 2 {
		resp, err := rc.Get(srv.URL + "/job")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(b) != "ok" || session.InfoOf(resp).FromCache != (i == 1) {
			t.Fatalf("request %d: %d %q %+v", i, resp.StatusCode, b, session.InfoOf(resp))
		}
	}
	wantRequests(t, n, 2, "a 503 retried, then a hit")
}

// stripe-go sends through a client with no transport of its own (the
// default transport): cached by Install, and its no-store is honoured with
// no settings at all.
func TestStripeNoStoreHonouredByDefault(t *testing.T) {
	srv, n := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache, no-store")
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"object":"balance","available":[{"amount":4200,"currency":"usd"}],"livemode":false}`)
	})
	install(t, nil)
	sc := stripe.NewClient("sk_test_secret", stripe.WithBackends(stripe.NewBackendsWithConfig(&stripe.BackendConfig{
		URL:           stripe.String(srv.URL),
		LeveledLogger: &stripe.LeveledLogger{Level: stripe.LevelNull},
	})))
	for range 3 {
		b, err := sc.V1Balance.Retrieve(context.Background(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if b.Available[0].Amount != 4200 {
			t.Fatalf("balance %+v", b.Available)
		}
	}
	wantRequests(t, n, 3, "stripe balance marked no-store")
	if got, _ := reqcache.Installed().Cache().Len(context.Background()); got != 0 {
		t.Fatalf("a no-store balance was stored: %d entries", got)
	}
}

// openAIOrigin answers the model list (cacheable for a minute, per key)
// and streams a chat completion as server-sent events, its first chunk at
// once and the last after release is closed.
func openAIOrigin(t *testing.T, release chan struct{}) (string, *atomic.Int64, *atomic.Int64) {
	var lists, chats atomic.Int64
	srv, _ := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/models"):
			lists.Add(1)
			w.Header().Set("Cache-Control", "private, max-age=60")
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"object":"list","data":[{"id":"gpt-test","object":"model","created":1,"owned_by":"test"}]}`)
		case strings.HasSuffix(r.URL.Path, "/chat/completions"):
			chats.Add(1)
			w.Header().Set("Content-Type", "text/event-stream")
			chunk := func(content string) {
				fmt.Fprintf(w, "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-test\",\"choices\":[{\"index\":0,\"delta\":{\"content\":%q}}]}\n\n", content)
				w.(http.Flusher).Flush()
			}
			chunk("Hel")
			<-release
			chunk("lo")
			io.WriteString(w, "data: [DONE]\n\n")
		}
	})
	return srv.URL + "/v1", &lists, &chats
}

// sashabaranov/go-openai sends through a zero client (the default
// transport): the model list is cached by Install; a streamed completion
// arrives chunk by chunk and is never stored.
func TestGoOpenAI(t *testing.T) {
	release := make(chan struct{})
	base, lists, chats := openAIOrigin(t, release)
	install(t, nil)
	cfg := goopenai.DefaultConfig("sk-test-secret")
	cfg.BaseURL = base
	c := goopenai.NewClientWithConfig(cfg)
	for range 3 {
		if _, err := c.ListModels(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	wantRequests(t, lists, 1, "go-openai ListModels ×3")
	for round := range 2 {
		stream, err := c.CreateChatCompletionStream(context.Background(), goopenai.ChatCompletionRequest{Model: "gpt-test", Messages: []goopenai.ChatCompletionMessage{{Role: "user", Content: "hi"}}})
		if err != nil {
			t.Fatal(err)
		}
		first, err := stream.Recv() // before the origin sends the rest
		if err != nil || first.Choices[0].Delta.Content != "Hel" {
			t.Fatalf("first chunk: %+v %v", first, err)
		}
		if round == 0 {
			close(release)
		}
		rest, err := stream.Recv()
		if err != nil || rest.Choices[0].Delta.Content != "lo" {
			t.Fatalf("second chunk: %+v %v", rest, err)
		}
		stream.Close()
	}
	wantRequests(t, chats, 2, "two streamed completions")
}

// openai/openai-go clones http.DefaultTransport for a client of its own
// (the clone is a plain transport): Install alone does not cache it;
// WithHTTPClient and reqcache.Transport do. A streamed completion arrives
// chunk by chunk and is never stored.
func TestOpenAIGo(t *testing.T) {
	release := make(chan struct{})
	base, lists, chats := openAIOrigin(t, release)
	install(t, nil)
	opts := []openaiv3option.RequestOption{openaiv3option.WithBaseURL(base), openaiv3option.WithAPIKey("sk-test-secret"), openaiv3option.WithMaxRetries(0)}
	list := func(c openaiv3.Client) {
		t.Helper()
		if _, err := c.Models.List(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	own := openaiv3.NewClient(opts...)
	list(own)
	list(own)
	wantRequests(t, lists, 2, "openai-go after Install alone (uncached)")

	c := openaiv3.NewClient(append(opts, openaiv3option.WithHTTPClient(&http.Client{Transport: reqcache.Transport(nil)}))...)
	for range 3 {
		list(c)
	}
	wantRequests(t, lists, 3, "openai-go Models.List ×3 through reqcache.Transport")
	stream := c.Chat.Completions.NewStreaming(context.Background(), openaiv3.ChatCompletionNewParams{
		Model:    "gpt-test",
		Messages: []openaiv3.ChatCompletionMessageParamUnion{openaiv3.UserMessage("hi")},
	})
	if !stream.Next() || stream.Current().Choices[0].Delta.Content != "Hel" {
		t.Fatalf("first chunk: %v", stream.Err())
	}
	close(release)
	if !stream.Next() || stream.Current().Choices[0].Delta.Content != "lo" {
		t.Fatalf("second chunk: %v", stream.Err())
	}
	stream.Close()
	if n, _ := reqcache.Installed().Cache().Len(context.Background()); n != 1 {
		t.Fatalf("%d entries: want the model list alone (an event stream is never stored)", n)
	}
	wantRequests(t, chats, 1, "one streamed completion")
}
