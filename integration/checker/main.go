// Command checker runs inside Keel guests booted by the integration tests. Each subcommand
// checks or provokes one behaviour and prints "CHECK <name> ok|FAIL <detail>" lines on its
// output, which the tests read from the serial console.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: checker echo|exit|sleep|ifaces|ignore-term|farewell|disk|random-pool|clock|suite|ctl-suite|containerd-suite|watchdog|confinement|mounted|intruder|volumes ...")
		os.Exit(2)
	}
	args := os.Args[2:]
	switch os.Args[1] {
	case "echo":
		fmt.Println(strings.Join(args, " "))
	case "exit":
		n, _ := strconv.Atoi(arg(args, 0, "1"))
		fmt.Printf("exiting with %d at uptime %s\n", n, uptime())
		os.Exit(n)
	case "poweroff-after":
		d, _ := time.ParseDuration(arg(args, 0, "1s"))
		say("poweroff in %s", d)
		time.Sleep(d)
		poweroff()
	case "sleep":
		d, _ := time.ParseDuration(arg(args, 0, "1s"))
		time.Sleep(d)
	case "farewell":
		farewell()
	case "ignore-term":
		signal.Ignore(syscall.SIGTERM)
		fmt.Println("ignoring SIGTERM")
		sleepForever()
	case "chatty":
		n, _ := strconv.Atoi(arg(args, 0, "5242880"))
		chatty(n)
	case "ctl-suite":
		size, _ := strconv.ParseInt(arg(args, 0, "262144"), 10, 64)
		files, _ := strconv.Atoi(arg(args, 1, "4"))
		ctlSuite(size, files)
	case "containerd-suite":
		containerdSuite(arg(args, 0, "sleeper"), arg(args, 1, "flaky"))
	case "watchdog":
		watchdogSuite(arg(args, 0, "healthy"))
	case "intruder":
		intruder()
	case "ifaces":
		ifaces()
	case "clock":
		wait, _ := time.ParseDuration(arg(args, 2, "0s"))
		time.Sleep(wait)
		skew, _ := time.ParseDuration(arg(args, 1, "5s"))
		clock(arg(args, 0, "10.0.2.2:123"), skew)
		poweroff()
	case "random-pool":
		randomPool()
		poweroff()
	case "disk":
		disk(arg(args, 0, "/data"))
	case "suite":
		suite(args)
	case "confinement":
		confinement(arg(args, 0, "confined"))
	case "mounted":
		mounted(arg(args, 0, "mounted"), arg(args, 1, "/"), arg(args, 2, "tmpfs"))
	case "volumes":
		for i := 0; i+1 < len(args); i += 2 {
			volumes(args[i], args[i+1])
		}
	default:
		fmt.Fprintf(os.Stderr, "checker: unknown subcommand %q\n", os.Args[1])
		os.Exit(2)
	}
}

func arg(args []string, i int, def string) string {
	if i < len(args) {
		return args[i]
	}
	return def
}

// check reports a result on stdout and, when the container can reach it, on the console,
// where the tests read it (a service's stdout goes to its log file only).
func check(name string, ok bool, format string, a ...any) bool {
	status := "ok"
	if !ok {
		status = "FAIL"
	}
	say("CHECK %s %s %s", name, status, fmt.Sprintf(format, a...))
	return ok
}

func say(format string, a ...any) {
	line := fmt.Sprintf(format, a...) + "\n"
	fmt.Print(line)
	if c, err := os.OpenFile("/dev/console", os.O_WRONLY|os.O_APPEND, 0); err == nil {
		c.WriteString(line)
		c.Close()
	}
}

// ifaces prints the network interfaces of the container's network namespace.
func ifaces() {
	entries, err := os.ReadDir("/sys/class/net")
	if err != nil {
		fmt.Printf("ifaces: %v\n", err)
		os.Exit(1)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	fmt.Printf("ifaces: %s\n", strings.Join(names, " "))
}

// uptime is /proc/uptime's first field: seconds since boot.
func uptime() string {
	data, err := os.ReadFile("/proc/uptime")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(data))
	if len(f) == 0 {
		return "?"
	}
	return f[0]
}

func sleepForever() {
	for {
		time.Sleep(time.Hour)
	}
}

// disk reports the marker a previous boot left in dir and writes a new one, without syncing:
// only PID 1's sync and unmount at shutdown can make it survive.
func disk(dir string) {
	path := dir + "/marker"
	prev, err := os.ReadFile(path)
	if err != nil {
		fmt.Printf("disk: no marker (%v)\n", err)
	} else {
		fmt.Printf("disk: found marker %q\n", strings.TrimSpace(string(prev)))
	}
	boots := 1
	if n, err := strconv.Atoi(strings.TrimPrefix(strings.TrimSpace(string(prev)), "boot-")); err == nil {
		boots = n + 1
	}
	if err := os.WriteFile(path, []byte(fmt.Sprintf("boot-%d\n", boots)), 0o644); err != nil {
		fmt.Printf("disk: write marker: %v\n", err)
		os.Exit(1)
	}
	fmt.Printf("disk: wrote marker boot-%d\n", boots)
}
