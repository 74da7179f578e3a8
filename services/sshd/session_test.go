package main

import (
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// A hangup that reaches a session between the exec request and the program's start (as a
// shutdown can) is delivered once the program has started, not lost.
func TestAHangupWhileTheProgramStartsIsDeliveredWhenItHasStarted(t *testing.T) {
	ss := &session{started: true}
	ss.signal(syscall.SIGHUP)
	cmd := exec.Command("sleep", "60")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ss.setProc(cmd.Process, nil)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
		ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
		if !ws.Signaled() || ws.Signal() != syscall.SIGHUP {
			t.Errorf("program ended with %v, want SIGHUP", cmd.ProcessState)
		}
	case <-time.After(5 * time.Second):
		cmd.Process.Kill()
		t.Fatal("program outlived a hangup sent while it started")
	}
}
