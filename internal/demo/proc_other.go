//go:build !linux

package demo

import (
	"os"
	"syscall"
)

// childProcAttr is empty where the parent-death signal does not exist; Close
// still stops the redis-server the demo started.
func childProcAttr() *syscall.SysProcAttr { return nil }

var terminateSignal = os.Interrupt
