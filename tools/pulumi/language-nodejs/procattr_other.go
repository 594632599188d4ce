//go:build !linux

package main

import "os/exec"

// setDieWithParent: only Linux has a parent-death signal; elsewhere the
// host's own shutdown (watchParent, health checks) stops the program.
func setDieWithParent(*exec.Cmd) {}
