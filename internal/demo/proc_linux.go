package demo

import "syscall"

// childProcAttr makes a spawned redis-server die with the demo even when
// the demo is killed before it can stop it.
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

var terminateSignal = syscall.SIGTERM
