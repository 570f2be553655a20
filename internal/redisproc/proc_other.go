//go:build !linux

package redisproc

import (
	"os"
	"syscall"
)

// childProcAttr is empty where the parent-death signal does not exist; Stop
// and Kill still end the redis-server.
func childProcAttr() *syscall.SysProcAttr { return nil }

// terminateSignal asks a redis-server to quit.
var terminateSignal = os.Interrupt
