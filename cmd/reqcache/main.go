// Command reqcache inspects and manages a reqcache cache from the shell,
// reading the same TOML file as the library. It is most useful with the
// mongo and tiered backends, whose cache outlives the program that filled
// it.
//
//	go install github.com/reqcache/reqcache/cmd/reqcache@latest
//	reqcache -config reqcache.toml stats
//
// Run `reqcache -h` for every command, flag, JSON shape and exit code.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/reqcache/reqcache"
	"github.com/reqcache/reqcache/config"
	"github.com/reqcache/reqcache/session"
	"github.com/reqcache/reqcache/stores/backend"
)

// Exit codes scripts can rely on.
const (
	exitOK       = 0
	exitError    = 1 // the command failed: bad config, store unreachable, …
	exitUsage    = 2 // bad flags, unknown command, missing argument
	exitNotFound = 3 // show or rm selected nothing
)

const usage = `Usage: reqcache [-config FILE] [-json] COMMAND [flags] [args]

Inspects and manages the cache a reqcache.toml describes. The file is
-config FILE, else $REQCACHE_CONFIG, else ./reqcache.toml, else the
built-in defaults (the memory backend, which lives inside one process:
with it this command only sees its own, empty cache).

Commands:
  stats                  entries, bytes, expired and fresh counts, entries per host
  ls                     one line per stored response
      -expired             only expired responses
      -fresh               only fresh responses
      -host HOST           only responses from HOST
      -older-than DUR      only responses created longer ago (e.g. 36h)
  show KEY|URL           headers and the start of the body of one response
                         (KEY may be a unique prefix of at least 6 characters;
                         a URL shows every response stored for it)
      -body-bytes N        how much of the body to show (default 512)
  rm [KEY...]            remove responses
      -url URL             every response stored for URL (repeatable)
      -expired             every expired response
      -older-than DUR      every response created longer ago
  clear                  remove everything; asks first unless -yes
      -yes                 do not ask
  get URL                fetch URL through the cache, print the status and
                         Cache-Status (the response is stored as usual)
      -v                   print the response headers too
      -body                print the body to stdout
  help                   this text

Flags may come before the command or after it, before its arguments;
-config and -json are accepted in both places.

-json prints one JSON document:
  stats  {"backend":"mongo","entries":3,"bytes":4096,"expired":1,"fresh":2,"hosts":{"api.example.com":3}}
  ls     [{"key":"…","method":"GET","url":"…","status":200,"size":1234,
           "created_at":"RFC 3339","expires_at":"RFC 3339 or null","expired":false}]
  show   [{…as ls…, "header":{"Name":["value"]},"body_preview":"…","body_bytes":1024}]
  rm     {"removed":2}
  clear  {"removed":5}
  get    {"status":200,"cache_status":"reqcache; hit; ttl=59","from_cache":true,
          "key":"…","header":{…}}

Exit codes: 0 success; 1 the command failed (config error, store
unreachable, clear not confirmed); 2 usage error; 3 show or rm found nothing.
`

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// globals are the flags every command accepts.
type globals struct {
	config string
	json   bool
}

func (g *globals) register(fs *flag.FlagSet) {
	fs.StringVar(&g.config, "config", g.config, "reqcache TOML file")
	fs.BoolVar(&g.json, "json", g.json, "print JSON")
}

// env is what a command runs with.
type env struct {
	globals
	stdin          io.Reader
	stdout, stderr io.Writer
	cfg            *config.Config
	cfgSource      string
	sess           *session.Session
}

// usageError is a mistake in the command line: exit code 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// errNotFound makes show and rm exit with code 3.
var errNotFound = errors.New("nothing matched")

// run is the whole command, testable: it returns the exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	var g globals
	top := flag.NewFlagSet("reqcache", flag.ContinueOnError)
	top.SetOutput(io.Discard)
	g.register(top)
	if err := top.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, usage)
			return exitOK
		}
		fmt.Fprintf(stderr, "reqcache: %v\n\n%s", err, usage)
		return exitUsage
	}
	rest := top.Args()
	if len(rest) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	name, rest := rest[0], rest[1:]
	cmd, ok := commands[name]
	if name == "help" {
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	if !ok {
		fmt.Fprintf(stderr, "reqcache: unknown command %q\n\n%s", name, usage)
		return exitUsage
	}
	e := &env{globals: g, stdin: stdin, stdout: stdout, stderr: stderr}
	fs := flag.NewFlagSet("reqcache "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	e.globals.register(fs)
	parse := cmd(e, fs)
	if err := fs.Parse(rest); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, usage)
			return exitOK
		}
		fmt.Fprintf(stderr, "reqcache %s: %v (see reqcache -h)\n", name, err)
		return exitUsage
	}
	err := parse(ctx, fs.Args())
	var ue *usageError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "reqcache %s: %v (see reqcache -h)\n", name, err)
		return exitUsage
	case errors.Is(err, errNotFound):
		fmt.Fprintf(stderr, "reqcache %s: %v\n", name, err)
		return exitNotFound
	default:
		fmt.Fprintf(stderr, "reqcache %s: %v\n", name, err)
		return exitError
	}
}

// loadConfig resolves the TOML file as the library does.
func (e *env) loadConfig() error {
	path, source := e.config, "-config"
	if path == "" {
		if p := os.Getenv(reqcache.ConfigEnv); p != "" {
			path, source = p, "$"+reqcache.ConfigEnv
		} else if _, err := os.Stat(reqcache.DefaultConfigFile); err == nil {
			path, source = reqcache.DefaultConfigFile, "./"+reqcache.DefaultConfigFile
		}
	}
	if path == "" {
		e.cfg, e.cfgSource = config.Default(), "built-in defaults"
		return nil
	}
	cfg, err := config.Load(path)
	if err != nil {
		return err // a *config.Error already names file, line and key
	}
	e.cfg, e.cfgSource = cfg, path+" ("+source+")"
	return nil
}

// open loads the configuration and opens its store in a session.
func (e *env) open(ctx context.Context) error {
	if err := e.loadConfig(); err != nil {
		return err
	}
	st, err := backend.Open(ctx, e.cfg, nil)
	if err != nil {
		return err
	}
	sess, err := session.New(e.cfg, session.WithStore(st))
	if err != nil {
		st.Close()
		return err
	}
	e.sess = sess
	if e.backend() == config.BackendMemory && !e.json {
		fmt.Fprintln(e.stderr, "note: the memory backend lives inside one process; this command sees only its own, empty cache")
	}
	return nil
}

func (e *env) backend() string {
	if e.cfg.Backend == "" {
		return config.BackendMemory
	}
	return e.cfg.Backend
}

func (e *env) close() {
	if e.sess != nil {
		e.sess.Close()
	}
}

// A command registers its flags on fs and returns the function that runs
// it with the remaining arguments.
type command func(e *env, fs *flag.FlagSet) func(ctx context.Context, args []string) error

var commands = map[string]command{
	"stats": cmdStats,
	"ls":    cmdLs,
	"show":  cmdShow,
	"rm":    cmdRm,
	"clear": cmdClear,
	"get":   cmdGet,
}

// noArgs rejects positional arguments for commands that take none.
func noArgs(args []string) error {
	if len(args) > 0 {
		return &usageError{"unexpected argument " + strings.Join(args, " ")}
	}
	return nil
}
