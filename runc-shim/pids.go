package runcshim

import (
	"context"

	"github.com/containerd/containerd/api/runtime/task/v3"
	apitypes "github.com/containerd/containerd/api/types/task"
	"github.com/containerd/containerd/v2/plugins"
	"github.com/containerd/log"
	"github.com/containerd/plugin"
	"github.com/containerd/ttrpc"
)

// A restarted containerd reloads every shim and asks it for its task's processes. A shim
// that lists none is taken for one whose task was never created: containerd deletes it and
// forgets the task, and the process runs on outside containerd while its supervisor starts
// another. The runc shim lists the processes with `runc ps`, which reads the container's
// cgroup and can come back empty while the init process runs; the shim's own record of its
// init process is the answer it is sure of.

// WrapTaskService makes the registered task plugin answer Pids with the running init process
// when `runc ps` lists no process.
func WrapTaskService() {
	filter(func(r *plugin.Registration) bool {
		if r.Type == plugins.TTRPCPlugin && r.ID == "task" {
			inner := r.InitFn
			r.InitFn = func(ic *plugin.InitContext) (any, error) {
				v, err := inner(ic)
				if err != nil {
					return nil, err
				}
				if svc, ok := v.(task.TTRPCTaskService); ok {
					return initKnowsPids{svc}, nil
				}
				return v, nil
			}
		}
		return true
	})
}

// initKnowsPids is a task service whose Pids never leaves out a running init process.
type initKnowsPids struct {
	task.TTRPCTaskService
}

// RegisterTTRPC serves the wrapped service.
func (s initKnowsPids) RegisterTTRPC(server *ttrpc.Server) error {
	task.RegisterTTRPCTaskService(server, s)
	return nil
}

// Pids lists the task's processes, and its init process if it runs and the list is empty.
func (s initKnowsPids) Pids(ctx context.Context, r *task.PidsRequest) (*task.PidsResponse, error) {
	resp, err := s.TTRPCTaskService.Pids(ctx, r)
	if err != nil || len(resp.GetProcesses()) > 0 {
		return resp, err
	}
	st, serr := s.TTRPCTaskService.State(ctx, &task.StateRequest{ID: r.ID})
	if serr != nil || st.Status != apitypes.Status_RUNNING || st.Pid == 0 {
		return resp, nil
	}
	log.G(ctx).WithField("id", r.ID).Warnf("runc ps listed no process while the init process %d runs; listing it", st.Pid)
	return &task.PidsResponse{Processes: []*apitypes.ProcessInfo{{Pid: st.Pid}}}, nil
}
