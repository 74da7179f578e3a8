package runcshim

import (
	"context"
	"testing"

	"github.com/containerd/containerd/api/runtime/task/v3"
	apitypes "github.com/containerd/containerd/api/types/task"
	"github.com/containerd/containerd/v2/plugins"
	"github.com/containerd/plugin"
	"github.com/containerd/plugin/registry"
)

// fakeTask answers Pids and State as a runc task service would; any other call panics.
type fakeTask struct {
	task.TTRPCTaskService
	pids   []uint32
	status apitypes.Status
	pid    uint32
}

func (f fakeTask) Pids(context.Context, *task.PidsRequest) (*task.PidsResponse, error) {
	resp := &task.PidsResponse{}
	for _, p := range f.pids {
		resp.Processes = append(resp.Processes, &apitypes.ProcessInfo{Pid: p})
	}
	return resp, nil
}

func (f fakeTask) State(context.Context, *task.StateRequest) (*task.StateResponse, error) {
	return &task.StateResponse{Status: f.status, Pid: f.pid}, nil
}

func pidsOf(t *testing.T, svc task.TTRPCTaskService) []uint32 {
	t.Helper()
	resp, err := initKnowsPids{svc}.Pids(context.Background(), &task.PidsRequest{ID: "sleeper"})
	if err != nil {
		t.Fatal(err)
	}
	var pids []uint32
	for _, p := range resp.Processes {
		pids = append(pids, p.Pid)
	}
	return pids
}

func TestPidsListsTheRunningInitWhenRuncPsListsNothing(t *testing.T) {
	got := pidsOf(t, fakeTask{status: apitypes.Status_RUNNING, pid: 174})
	if len(got) != 1 || got[0] != 174 {
		t.Errorf("Pids = %v, want [174]", got)
	}
}

func TestPidsKeepsRuncPsListWhenItHasProcesses(t *testing.T) {
	got := pidsOf(t, fakeTask{pids: []uint32{174, 180}, status: apitypes.Status_RUNNING, pid: 174})
	if len(got) != 2 {
		t.Errorf("Pids = %v, want [174 180]", got)
	}
}

func TestPidsStaysEmptyForATaskThatIsNotRunning(t *testing.T) {
	for _, st := range []apitypes.Status{apitypes.Status_CREATED, apitypes.Status_STOPPED} {
		if got := pidsOf(t, fakeTask{status: st, pid: 174}); len(got) != 0 {
			t.Errorf("status %v: Pids = %v, want none", st, got)
		}
	}
}

func TestWrapTaskServiceMakesTheTaskPluginListItsRunningInit(t *testing.T) {
	registry.Reset()
	registry.Register(&plugin.Registration{Type: plugins.TTRPCPlugin, ID: "task", InitFn: func(*plugin.InitContext) (any, error) {
		return fakeTask{status: apitypes.Status_RUNNING, pid: 174}, nil
	}})
	WrapTaskService()
	regs := registry.Graph(func(*plugin.Registration) bool { return false })
	if len(regs) != 1 {
		t.Fatalf("%d plugins registered after wrapping, want the task plugin alone", len(regs))
	}
	v, err := regs[0].InitFn(nil)
	if err != nil {
		t.Fatal(err)
	}
	svc, ok := v.(initKnowsPids)
	if !ok {
		t.Fatalf("the task plugin gives a %T, not the wrapped service", v)
	}
	if got := pidsOf(t, svc); len(got) != 1 || got[0] != 174 {
		t.Errorf("Pids = %v, want [174]", got)
	}
}
