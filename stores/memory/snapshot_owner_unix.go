//go:build unix

package memory

import (
	"fmt"
	"os"
	"syscall"
)

// checkOwner refuses a snapshot another user could have written: one not
// owned by this process's user, or writable by its group or by others (in
// a shared directory, anyone could otherwise plant entries, and the
// credential key, for this process to load).
func checkOwner(fi os.FileInfo) error {
	if fi.Mode().Perm()&0o022 != 0 {
		return untrusted{fmt.Errorf("%w: writable by group or others (mode %v)", errSnapshot, fi.Mode().Perm()), "chmod 600 %s"}
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Getuid() {
		return untrusted{fmt.Errorf("%w: owned by user %d, not this process's (%d)", errSnapshot, st.Uid, os.Getuid()), "chown it to this user, or set memory.snapshot to a file of this user's (%s is left as it is)"}
	}
	return nil
}
