// Package timeline is the boot timeline of a Keel machine: when each stage of boot and
// shutdown happened, in seconds of CLOCK_BOOTTIME (the kernel started at 0 on that clock),
// and the memory of PID 1, containerd and the shims once services are up. PID 1 records it in
// Path and, with keel.bench=1 on the kernel command line, prints it on the console after
// ConsolePrefix; keel-ctl analyze and keel bench read it.
package timeline

// Path is where PID 1 keeps the timeline in the guest.
const Path = "/run/keel/boot-timeline.json"

// ConsolePrefix starts the console line that carries the timeline as JSON.
const ConsolePrefix = "keel: timeline "

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
	// RestartSamples is memory sampled as service restarts go on (keel.bench_restarts=N on
	// the kernel command line): after each quarter of them, the last after all. A leak grows
	// from one to the next, a warm-up does not.
	RestartSamples []RestartSample `json:"restart_samples,omitempty"`
}

// RestartSample is the memory after so many restarts.
type RestartSample struct {
	Restarts int    `json:"restarts"`
	Memory   Memory `json:"memory"`
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

// Memory is sampled when every service has started (and again after restarts), in kB, with
// PID 1's goroutines and open file descriptors, which a leak would make grow too.
type Memory struct {
	PID1VmHWM      float64 `json:"pid1_vmhwm_kb"`
	PID1RssAnon    float64 `json:"pid1_rss_anon_kb"`
	PID1Goroutines int     `json:"pid1_goroutines,omitempty"`
	PID1FDs        int     `json:"pid1_fds,omitempty"`
	ContainerdRss  float64 `json:"containerd_rss_kb"`
	ShimsRss       float64 `json:"shims_rss_kb"`
}
