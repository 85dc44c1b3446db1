// Command reqcache inspects and manages a reqcache cache from the shell,
// reading the same TOML file as the library so that it sees exactly what
// programs using the library stored. It is most useful with the mongo and
// tiered backends, whose cache outlives the program that filled it.
//
//	go install ./cmd/reqcache   # from a checkout of the repository
//	reqcache -config reqcache.toml stats
//
// Commands: stats, ls, show, rm, clear, get, export, import and help. Every command prints
// a table by default and JSON with -json. Run `reqcache -h` for every
// command, flag, JSON shape and exit code, and `reqcache COMMAND -h` for one
// command.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"

	"github.com/reqcache/reqcache"
	"github.com/reqcache/reqcache/config"
	"github.com/reqcache/reqcache/logging"
	"github.com/reqcache/reqcache/session"
	"github.com/reqcache/reqcache/stores/backend"
)

// Exit codes are part of the command's contract with scripts: keep them
// stable and documented in the help.
const (
	exitOK       = 0
	exitError    = 1 // the command failed: bad config, store unreachable, clear not confirmed, …
	exitUsage    = 2 // bad flag, unknown command, missing or extra argument
	exitNotFound = 3 // show or rm selected nothing
)

// main is a thin shell around run so that tests drive the whole command
// with buffers; Ctrl-C cancels the context so a slow store call stops.
func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// globals are the flags every command accepts, before or after the
// command name, so that `reqcache -json ls` and `reqcache ls -json` agree.
type globals struct {
	config string
	json   bool
}

// register adds the global flags to fs; values already set (from before
// the command name) stay the defaults.
func (g *globals) register(fs *flag.FlagSet) {
	fs.StringVar(&g.config, "config", g.config, "read the reqcache TOML `FILE` (else $"+reqcache.ConfigEnv+", ./"+reqcache.DefaultConfigFile+", defaults)")
	fs.BoolVar(&g.json, "json", g.json, "print one JSON document instead of a table")
}

// env carries what a command needs, so that commands never touch the
// process's own stdin, stdout, stderr or working state.
type env struct {
	globals
	stdin          io.Reader
	stdout, stderr io.Writer
	cfg            *config.Config
	cfgSource      string
	sess           *session.Session
}

// usageError marks mistakes in the command line, which exit with code 2
// and point at the help rather than at the store.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// usagef builds a usageError, keeping call sites short.
func usagef(format string, args ...any) error {
	return &usageError{fmt.Sprintf(format, args...)}
}

// errNotFound makes show and rm exit with code 3, which scripts use to
// tell "nothing there" from a failure.
var errNotFound = errors.New("not found")

// run is the whole command behind a testable signature: arguments and
// streams in, exit code out.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	var g globals
	top := flag.NewFlagSet("reqcache", flag.ContinueOnError)
	top.SetOutput(io.Discard)
	g.register(top)
	if err := top.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			writeUsage(stdout)
			return exitOK
		}
		return reportUsage(stderr, "", err)
	}
	rest := top.Args()
	if len(rest) == 0 {
		writeUsage(stderr)
		return exitUsage
	}
	name, rest := rest[0], rest[1:]
	if name == "help" {
		return runHelp(rest, stdout, stderr)
	}
	cmd := lookup(name)
	if cmd == nil {
		return reportUsage(stderr, "", usagef("unknown command %q", name))
	}

	e := &env{globals: g, stdin: stdin, stdout: stdout, stderr: stderr}
	fs := cmd.flagSet(e)
	do := cmd.setup(e, fs)
	if err := fs.Parse(rest); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			writeCommandUsage(stdout, cmd)
			return exitOK
		}
		return reportUsage(stderr, name, err)
	}
	defer e.close()
	err := do(ctx, fs.Args())
	var ue *usageError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ue):
		return reportUsage(stderr, name, err)
	case errors.Is(err, errNotFound):
		fmt.Fprintf(stderr, "reqcache: %s\n", message(err))
		return exitNotFound
	default:
		fmt.Fprintf(stderr, "reqcache: %s\n", message(err))
		return exitError
	}
}

// reportUsage prints a command-line mistake with a pointer to the help
// that would have avoided it.
func reportUsage(stderr io.Writer, name string, err error) int {
	if name == "" {
		fmt.Fprintf(stderr, "reqcache: %s\nRun 'reqcache -h' for usage.\n", message(err))
	} else {
		fmt.Fprintf(stderr, "reqcache: %s: %s\nRun 'reqcache %s -h' for usage.\n", name, message(err), name)
	}
	return exitUsage
}

// message drops the "reqcache: " that library errors already start with,
// so that stderr never reads "reqcache: reqcache: …".
func message(err error) string {
	return strings.TrimPrefix(err.Error(), "reqcache: ")
}

// loadConfig resolves the TOML file in the order reqcache.Install uses,
// so that the command and the programs it inspects agree on the store.
func (e *env) loadConfig() error {
	if e.config != "" {
		return e.load(e.config, e.config)
	}
	if p := os.Getenv(reqcache.ConfigEnv); p != "" {
		if err := e.load(p, p+" ($"+reqcache.ConfigEnv+")"); err != nil {
			return fmt.Errorf("$%s: %w", reqcache.ConfigEnv, err)
		}
		return nil
	}
	if _, err := os.Stat(reqcache.DefaultConfigFile); err == nil {
		return e.load(reqcache.DefaultConfigFile, "./"+reqcache.DefaultConfigFile)
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%s: %w", reqcache.DefaultConfigFile, err)
	}
	e.cfg, e.cfgSource = config.Default(), "built-in defaults"
	return nil
}

// load reads one file; its errors already read "file:line: key: problem".
func (e *env) load(path, source string) error {
	cfg, err := config.Load(path)
	if err != nil {
		return err
	}
	e.cfg, e.cfgSource = cfg, source
	return nil
}

// open builds the same store and session a program using the library
// would, so that keys, URL normalization and expiry agree with it. The
// library's [logging] table is honoured, writing to the command's stderr.
func (e *env) open(ctx context.Context) error {
	if err := e.loadConfig(); err != nil {
		return err
	}
	logger, err := logging.NewTo(e.cfg.Logging, e.stderr)
	if err != nil {
		return err
	}
	st, err := backend.Open(ctx, e.cfg, logger)
	if err != nil {
		return err
	}
	if r, ok := st.(interface{ SnapshotRefused() error }); ok && r.SnapshotRefused() != nil {
		// Said whatever the [logging] level: the table that follows
		// would otherwise look like an empty cache.
		fmt.Fprintln(e.stderr, "warning: "+message(r.SnapshotRefused()))
	}
	sess, err := session.New(e.cfg, session.WithStore(st), session.WithLogger(logger))
	if err != nil {
		st.Close()
		return err
	}
	e.sess = sess
	if e.backend() == config.BackendMemory && e.cfg.Memory.Snapshot == "" && !e.json {
		fmt.Fprintln(e.stderr, "note: the memory backend lives inside one process; this command sees only its own, empty cache (set [memory] snapshot to keep it in a file)")
	}
	return nil
}

// backend names the configured backend, spelling out the default that an
// empty value means.
func (e *env) backend() string {
	if e.cfg.Backend == "" {
		return config.BackendMemory
	}
	return e.cfg.Backend
}

// storeName says which store a command acts on, so that an operator about
// to delete knows where; a Mongo URI is shown with its password masked.
func (e *env) storeName() string {
	m := e.cfg.Mongo
	mongo := fmt.Sprintf("%s %s.%s", logging.MaskURI(m.URI), m.Database, m.Collection)
	switch e.backend() {
	case config.BackendMongo:
		return "mongo " + mongo
	case config.BackendTiered:
		return "tiered (memory in front of mongo " + mongo + ")"
	}
	return e.backend()
}

// close releases the store; commands that failed before opening one have
// nothing to release.
func (e *env) close() {
	if e.sess != nil {
		e.sess.Close()
		e.sess = nil
	}
}
