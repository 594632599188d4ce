package main

import (
	"os/exec"
	"syscall"
)

// setDieWithParent makes the kernel kill the program if this host dies
// without stopping it first (killed, crashed).
func setDieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
