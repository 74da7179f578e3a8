// Package timeline is the boot timeline of a Keel machine: when each stage of boot and
// shutdown happened, in seconds of CLOCK_BOOTTIME (the kernel started at 0 on that clock),
// and the memory of PID 1, containerd and the shims once services are up. PID 1 records it in
// Path, where keel-ctl analyze reads it; after `keel-ctl poweroff --timeline` PID 1 also prints
// it on the console (the line package guest names) just before the machine goes down, which is
// where keel bench reads it.
package timeline

import (
	"bytes"
	"fmt"
	"strconv"
)

// Path is where PID 1 keeps the timeline in the guest.
const Path = "/run/keel/boot-timeline.json"

// Clock names the clock every time is read from.
const Clock = "boottime"

// Timeline holds the uptime at each stage; 0 for a stage not reached.
type Timeline struct {
	Clock           string  `json:"clock"`
	PID1Start       float64 `json:"pid1_start"`
	MountsDone      float64 `json:"mounts_done"`
	OnbootDone      float64 `json:"onboot_done"`
	ContainerdStart float64 `json:"containerd_start"`
	ContainerdReady float64 `json:"containerd_ready"`
	ServicesReady   float64 `json:"services_ready"`
	ShutdownStart   float64 `json:"shutdown_start"`
	ShutdownEnd     float64 `json:"shutdown_end"`
	Spans           []Span  `json:"spans"`
	Memory          *Memory `json:"memory,omitempty"`
	// CPUAtPID1 is the CPU time the machine had spent when PID 1 started (read as soon as
	// it has mounted /proc): the kernel's boot, the initramfs's unpacking and PID 1's
	// package initialisation. CPUAtServicesReady is the same when every service had started.
	CPUAtPID1          *CPU `json:"cpu_at_pid1_start,omitempty"`
	CPUAtServicesReady *CPU `json:"cpu_at_services_ready,omitempty"`
}

// ModulesSpan is the span of PID 1 loading the drivers of the devices present (coldplug),
// within its mounts stage; absent when it loaded none.
const ModulesSpan = "modules"

// Span is one container's (or containerd's) stretch of the boot: "onboot/000-sysctl",
// "containerd", "service/getty", or PID 1's ModulesSpan.
type Span struct {
	Name  string  `json:"name"`
	Start float64 `json:"start"`
	End   float64 `json:"end"`
}

// Memory is sampled when every service has started (and by keel-ctl memory), in kB, with
// PID 1's goroutines and open file descriptors, which a leak would make grow too.
type Memory struct {
	PID1VmHWM      float64 `json:"pid1_vmhwm_kb"`
	PID1RssAnon    float64 `json:"pid1_rss_anon_kb"`
	PID1Goroutines int     `json:"pid1_goroutines,omitempty"`
	PID1FDs        int     `json:"pid1_fds,omitempty"`
	ContainerdRss  float64 `json:"containerd_rss_kb"`
	ShimsRss       float64 `json:"shims_rss_kb"`
	// MemUsed is the machine's memory in use: MemTotal less MemAvailable (/proc/meminfo). An
	// initramfs root counts in it; a disk root's page cache, which can be reclaimed, does not.
	MemUsed float64 `json:"mem_used_kb,omitempty"`
}

// CPU is how the machine's CPUs spent their time since the kernel started, in seconds summed
// over all CPUs (/proc/stat's first line, in ticks: the earliest boot's are not counted). A
// boot with little Idle is bound by the CPU: doing two things at once cannot shorten it.
type CPU struct {
	User   float64 `json:"user_s"`   // user and nice
	System float64 `json:"system_s"` // system, irq and softirq
	Idle   float64 `json:"idle_s"`   // idle and iowait
	Steal  float64 `json:"steal_s,omitempty"`
}

// Busy is the time the CPUs ran code: user and system.
func (c CPU) Busy() float64 { return c.User + c.System }

// userHZ is the unit of /proc/stat's times, fixed at 100 ticks per second on every Linux
// architecture's user ABI.
const userHZ = 100

// ParseCPU reads the aggregate "cpu" line of /proc/stat (its first line).
func ParseCPU(procStat []byte) (CPU, error) {
	line, _, _ := bytes.Cut(procStat, []byte("\n"))
	f := bytes.Fields(line)
	if len(f) < 5 || string(f[0]) != "cpu" {
		return CPU{}, fmt.Errorf("/proc/stat: first line %q is not the cpu line", line)
	}
	var ticks [8]float64 // user nice system idle iowait irq softirq steal
	for i := range ticks {
		if 1+i >= len(f) {
			break // older kernels have fewer columns
		}
		n, err := strconv.ParseUint(string(f[1+i]), 10, 64)
		if err != nil {
			return CPU{}, fmt.Errorf("/proc/stat: cpu column %d: %w", 1+i, err)
		}
		ticks[i] = float64(n) / userHZ
	}
	return CPU{
		User:   ticks[0] + ticks[1],
		System: ticks[2] + ticks[5] + ticks[6],
		Idle:   ticks[3] + ticks[4],
		Steal:  ticks[7],
	}, nil
}
