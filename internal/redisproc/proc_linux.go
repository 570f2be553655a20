package redisproc

import "syscall"

// childProcAttr makes a redis-server die with the process that started it
// (the demo, a test binary) even when that process is killed before it can
// stop it.
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

// terminateSignal asks a redis-server to quit.
var terminateSignal = syscall.SIGTERM
