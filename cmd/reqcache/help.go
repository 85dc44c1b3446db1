package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
)

// command is one subcommand and its documentation, kept together so that
// `reqcache -h` and `reqcache COMMAND -h` cannot drift from the flags the
// command really has.
type command struct {
	name     string
	args     string // positional arguments, as shown in the synopsis
	summary  string // one line for the command list
	about    string // what it does, for COMMAND -h
	jsonDesc string // what -json prints
	// setup registers the command's flags on fs and returns the function
	// that runs it with the remaining arguments.
	setup func(e *env, fs *flag.FlagSet) func(ctx context.Context, args []string) error
}

// commands is in the order the help lists them.
var commands = []*command{
	{
		name:    "stats",
		summary: "entries, bytes, fresh and expired counts, entries per host",
		about: `Counts the stored responses: entries, total bytes (approximate: body,
headers and request), how many are fresh and how many expired, and how
many come from each host (host[:port] as stored).`,
		jsonDesc: `{"backend":"mongo","entries":3,"bytes":1234,"expired":1,"fresh":2,
 "hosts":{"api.example.com":2,"cdn.example.com":1}}`,
		setup: cmdStats,
	},
	{
		name:    "ls",
		summary: "one row per stored response",
		about: `Lists the stored responses, one per row, sorted by URL then creation
time: key (first 12 characters; -json gives it whole), method, status,
size, created, expires ("never" when it does not), URL. The filters
combine: a response is listed when it passes all of them. -expired and
-fresh together list both.`,
		jsonDesc: `[{"key":"9c0f…","url":"https://api.example.com/users/1","method":"GET",
  "status":200,"size":1234,"created_at":"2026-11-24T03:02:38Z",
  "expires_at":"2026-11-24T04:02:38Z","expired":false}, …]
expires_at is null for a response that never expires; [] when nothing
is listed.`,
		setup: cmdLs,
	},
	{
		name:    "show",
		args:    "KEY|URL",
		summary: "headers and the start of the body of stored responses",
		about: `Shows stored responses: the request, the status, the response headers,
the stored request headers (redacted) and the first bytes of the body;
a binary body is shown as "(N bytes binary)".

An argument containing "://" is a URL: every response stored for it is
shown (one per Vary variant or method), the URL being normalized as the
library stores it (ignored parameters match whatever their value). Any
other argument is a key as ls prints it: the whole key, or a prefix of
at least 6 characters that matches one response.`,
		jsonDesc: `[{…the fields of ls…, "header":{"Content-Type":["application/json"]},
  "request_header":{"Accept":["*/*"]}, "body_bytes":2048,
  "body_preview":"{\"id\":1…", "body_binary":false}, …]
body_preview is "" for a binary body (body_binary true).`,
		setup: cmdShow,
	},
	{
		name:    "rm",
		args:    "[KEY|URL...]",
		summary: "remove the selected responses",
		about: `Removes stored responses and prints how many. A response is removed when
anything selects it: a KEY argument (whole or a unique prefix of 6+
characters), a URL argument or -url (every response stored for that URL),
-expired, -older-than. At least one selection is required.`,
		jsonDesc: `{"removed":2}`,
		setup:    cmdRm,
	},
	{
		name:    "reseal",
		summary: "seal every stored response again with the first [encryption] key (after a rotation)",
		about: `Reads every stored response with any key of [encryption] and writes it
back sealed with the first, then prints how many. Run it after putting a
new key first (rotation); once it is done the old key may go. Responses
that do not open with any key held (another fleet's key, or stored in the
clear before sealing was on: those are misses already) are left and
counted as skipped.`,
		jsonDesc: `{"resealed":5,"skipped":0}`,
		setup:    cmdReseal,
	},
	{
		name:    "clear",
		summary: "remove every stored response (asks first unless -yes)",
		about: `Removes every stored response. Unless -yes is given it asks on stderr
    Delete all N cached responses from <store>? [y/N]
and reads the answer from stdin; anything but y or yes (an empty stdin
included) deletes nothing and exits with 1.`,
		jsonDesc: `{"removed":5}`,
		setup:    cmdClear,
	},
	{
		name:    "export",
		summary: "write the stored responses as JSON Lines (to move or keep a cache)",
		about: `Writes the stored responses as JSON Lines, one response a line (body as
text, or body_base64 when it is not UTF-8), sorted by URL, method and
key, then the Vary indexes and redirects that lead to them. Credentials
are as stored: redacted; the credential key is never written. With -o the
lines go to FILE, else to stdout. The filters of ls apply. "reqcache
import" reads the file into any backend: together they move a cache
between memory, mongo and tiered (requests-cache's BaseCache.update()), or
keep one as a test fixture. An export is never sealed: from a store sealed
with [encryption] it says so on stderr, and the file (mode 0600) holds the
responses in the clear.`,
		jsonDesc: `{"exported":3,"sealed":false} with -o (without it, stdout holds the export itself)`,
		setup:    cmdExport,
	},
	{
		name:    "import",
		args:    "[-trust-keys] FILE",
		summary: "store the responses of an export (FILE, or - for stdin)",
		about: `Reads what export writes and stores it in the configured backend, each
response keyed again from the request its line records, so that it
answers the same requests (and never another URL's). Every line is
checked before anything is stored: a malformed line, an unknown version,
an empty file or a line whose key is not its request's is an error naming
the line, and the cache is left as it was. Entries keyed by credentials
(separate_credentials), request bodies or a key function import only with
-trust-keys, for a file this cache or one sharing its credential key
wrote; it also reads the redirect aliases. Each response then passes the
storability decision under this configuration, as one just received
would: a line it refuses (a status outside allowable_codes, no-store, ...)
is skipped and named on stderr. Prints how many responses were stored.`,
		jsonDesc: `{"imported":3,"refused":0}`,
		setup:    cmdImport,
	},
	{
		name:    "get",
		args:    "URL",
		summary: "fetch URL through the cache and print its Cache-Status",
		about: `Fetches URL (GET) through a session using the configured cache, exactly
as a program using the library would: a fresh stored response is
answered from the cache, anything else goes to the origin and is stored
by the usual rules. Prints the status line and the Cache-Status header,
such as "reqcache; hit; ttl=42" or "reqcache; fwd=uri-miss; stored".
With -body the body goes to stdout alone and the status lines to stderr,
so that "reqcache get -body URL > file" saves the body. The exit code is
0 whatever the HTTP status; 1 when the request itself fails.`,
		jsonDesc: `{"url":"https://…","status":200,"cache_status":"reqcache; hit; ttl=59",
 "from_cache":true,"stored":false,"key":"9c0f…","header":{"Name":["value"]},
 "body":"…"}
body only with -body; a binary body comes as "body_base64" instead.`,
		setup: cmdGet,
	},
}

// lookup finds a command by name; nil means the name is a usage error.
func lookup(name string) *command {
	for _, c := range commands {
		if c.name == name {
			return c
		}
	}
	return nil
}

// flagSet builds the command's flag set with the global flags, reporting
// errors through run rather than printing them itself.
func (c *command) flagSet(e *env) *flag.FlagSet {
	fs := flag.NewFlagSet("reqcache "+c.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	e.globals.register(fs)
	return fs
}

// ownFlags returns the command's flags (without the global ones), from a
// throwaway flag set, so that the help lists exactly what parsing accepts.
func (c *command) ownFlags() []*flag.Flag {
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	c.setup(&env{}, fs)
	var out []*flag.Flag
	fs.VisitAll(func(f *flag.Flag) { out = append(out, f) })
	return out
}

// synopsis shows "[flags]" only for commands that have any, so that the
// first line of COMMAND -h does not promise what is not there.
func (c *command) synopsis() string {
	s := "reqcache [global flags] " + c.name
	if len(c.ownFlags()) > 0 {
		s += " [flags]"
	}
	if c.args != "" {
		s += " " + c.args
	}
	return s
}

// writeFlags prints flags as "-name TYPE  usage (default X)", the usage
// column starting at width so that every block of the manual lines up.
func writeFlags(w io.Writer, indent string, width int, flags []*flag.Flag) {
	for _, f := range flags {
		name, usage := flagDoc(f)
		fmt.Fprintf(w, "%s%-*s  %s\n", indent, width, name, usage)
	}
}

// flagDoc splits a flag's documentation into its name column and its
// usage column.
func flagDoc(f *flag.Flag) (name, usage string) {
	typ, usage := flag.UnquoteUsage(f)
	name = "-" + f.Name
	if typ != "" {
		name += " " + typ
	}
	switch f.DefValue {
	case "", "false", "0", "0s", "[]":
	default:
		usage += " (default " + f.DefValue + ")"
	}
	return name, usage
}

// nameWidth is the width of the widest flag name among lists.
func nameWidth(lists ...[]*flag.Flag) int {
	w := 0
	for _, l := range lists {
		for _, f := range l {
			name, _ := flagDoc(f)
			w = max(w, len(name))
		}
	}
	return w
}

// globalFlags lists the flags every command takes, for the help.
func globalFlags() []*flag.Flag {
	fs := flag.NewFlagSet("reqcache", flag.ContinueOnError)
	var g globals
	g.register(fs)
	var out []*flag.Flag
	fs.VisitAll(func(f *flag.Flag) { out = append(out, f) })
	return out
}

const configHelp = `The configuration is the first found of: -config FILE, the file named by
$REQCACHE_CONFIG, ./reqcache.toml, the built-in defaults (the memory
backend, which lives inside one process: with it this command sees only
its own, empty cache). A bad file is reported as "reqcache: FILE:LINE:
KEY: problem" with exit code 1; a MongoDB URI is only ever printed with
its password masked.`

const flagsHelp = `Flags are written -name or --name, and -name=value or -name value. They
go before the command's arguments: "reqcache show -body-bytes 64 KEY",
not "reqcache show KEY -body-bytes 64". The global flags may also come
before the command name.`

const exitHelp = `Exit codes:
  0  success
  1  the command failed: bad configuration, store unreachable, request
     failed, clear not confirmed
  2  usage error: bad flag, unknown command, missing or extra argument
  3  not found: show or rm selected nothing`

// writeUsage prints the whole manual: every command, flag, JSON shape and
// exit code, since the command is mostly used from scripts.
func writeUsage(w io.Writer) {
	fmt.Fprint(w, `Usage: reqcache [global flags] COMMAND [flags] [args]

Inspects and manages the HTTP cache a reqcache.toml describes: the same
file, store and rules as the library.

Commands:
`)
	lists := [][]*flag.Flag{globalFlags()}
	for _, c := range commands {
		lists = append(lists, c.ownFlags())
	}
	width := nameWidth(lists...)
	for i, c := range commands {
		line := c.name
		if c.args != "" {
			line += " " + c.args
		}
		fmt.Fprintf(w, "  %-20s %s\n", line, c.summary)
		writeFlags(w, "      ", width, lists[i+1])
	}
	fmt.Fprintf(w, "  %-20s %s\n", "help [COMMAND]", "this text, or one command's")
	fmt.Fprint(w, "\nGlobal flags (every command):\n")
	writeFlags(w, "      ", width, lists[0])
	fmt.Fprintf(w, "\n%s\n\n%s\n\nWith -json each command prints one JSON document (snake_case fields):\n", flagsHelp, configHelp)
	for _, c := range commands {
		fmt.Fprintf(w, "  %s\n%s\n", c.name, indent(c.jsonDesc, "    "))
	}
	fmt.Fprintf(w, "\n%s\n", exitHelp)
}

// writeCommandUsage prints one command's manual, for `reqcache COMMAND -h`
// and `reqcache help COMMAND`.
func writeCommandUsage(w io.Writer, c *command) {
	fmt.Fprintf(w, "Usage: %s\n\n%s\n", c.synopsis(), c.about)
	flags, global := c.ownFlags(), globalFlags()
	width := nameWidth(flags, global)
	if len(flags) > 0 {
		fmt.Fprint(w, "\nFlags:\n")
		writeFlags(w, "  ", width, flags)
	}
	fmt.Fprint(w, "\nGlobal flags:\n")
	writeFlags(w, "  ", width, global)
	fmt.Fprintf(w, "\nWith -json:\n%s\n\n%s\n", indent(c.jsonDesc, "  "), exitHelp)
}

// runHelp serves `reqcache help [COMMAND]`.
func runHelp(args []string, stdout, stderr io.Writer) int {
	switch {
	case len(args) == 0:
		writeUsage(stdout)
		return exitOK
	case len(args) > 1:
		return reportUsage(stderr, "", usagef("help takes at most one command name"))
	}
	c := lookup(args[0])
	if c == nil {
		return reportUsage(stderr, "", usagef("help: unknown command %q", args[0]))
	}
	writeCommandUsage(stdout, c)
	return exitOK
}

// indent lets the JSON shapes keep their own line breaks inside the
// manual's layout.
func indent(s, prefix string) string {
	return prefix + strings.ReplaceAll(s, "\n", "\n"+prefix)
}
