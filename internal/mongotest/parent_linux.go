//go:build linux

package mongotest

import (
	"os/exec"
	"syscall"
)

// dieWithParent has the server killed when the test binary dies, however it
// dies: a `go test` killed or timed out used to leave FerretDB running, a
// core busy, until someone noticed.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
