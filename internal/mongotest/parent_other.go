//go:build !linux

package mongotest

import "os/exec"

// dieWithParent is Linux's alone (Pdeathsig); elsewhere Stop ends the
// server, and a killed test binary may leave it running.
func dieWithParent(*exec.Cmd) {}
