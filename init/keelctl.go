package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"text/tabwriter"
	"time"

	"github.com/keel-os/keel/timeline"
)

const keelCtlUsage = `usage: keel-ctl COMMAND [ARGS]

  ps | status [NAME]        services: state, pid, starts, last exit, next restart
  start NAME                start a stopped service
  stop NAME                 stop a service (it stays down)
  restart NAME              stop, then start
  logs [-f] [-n N] NAME     a service's newest log lines (kmsg: the kernel's); -f follows
  analyze [--json]          the boot timeline (--json: as PID 1 keeps it, on one line)
  memory [--json]           PID 1's, containerd's and the shims' memory now
  watchdog [test]           the hardware watchdog's state; test: PID 1 stops petting it,
                            and the machine resets when its timeout runs out
  poweroff | reboot | halt [--timeline]
                            shut the machine down cleanly (--timeline: PID 1 prints the
                            final timeline on the console just before the end)
`

// keelCtl is the init binary answering as keel-ctl: it talks to PID 1 over the control socket.
func keelCtl(args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Print(keelCtlUsage)
		return 2
	}
	c := &ctlClient{http: &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", controlSocket)
		},
	}}}
	var err error
	switch cmd := args[0]; cmd {
	case "ps", "status":
		err = c.status(args[1:])
	case "start", "stop", "restart":
		if len(args) != 2 {
			fmt.Fprintf(os.Stderr, "usage: keel-ctl %s NAME\n", cmd)
			return 2
		}
		err = c.action(args[1], cmd)
	case "logs":
		err = c.logs(args[1:])
	case "analyze":
		err = c.analyze(args[1:])
	case "memory":
		err = c.memory(args[1:])
	case "watchdog":
		err = c.watchdog(args[1:])
	case "poweroff", "reboot", "halt":
		var path string
		if path, err = powerPath(cmd, args[1:]); err == nil {
			err = c.do("POST", path, nil)
		}
	default:
		fmt.Fprintf(os.Stderr, "keel-ctl: unknown command %q\n%s", cmd, keelCtlUsage)
		return 2
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "keel-ctl: %v\n", err)
		return 1
	}
	return 0
}

type ctlClient struct{ http *http.Client }

// request makes a request to PID 1 and returns the response of a successful one; an error
// answer becomes the error.
func (c *ctlClient) request(method, path string) (*http.Response, error) {
	req, err := http.NewRequest(method, "http://keel"+path, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("PID 1 control socket %s: %w", controlSocket, err)
	}
	if resp.StatusCode >= 300 {
		defer resp.Body.Close()
		var e struct{ Error string }
		if json.NewDecoder(resp.Body).Decode(&e) == nil && e.Error != "" {
			return nil, fmt.Errorf("%s", e.Error)
		}
		return nil, fmt.Errorf("%s %s: %s", method, path, resp.Status)
	}
	return resp, nil
}

// do makes a request and decodes a JSON answer into out (if not nil).
func (c *ctlClient) do(method, path string, out any) error {
	resp, err := c.request(method, path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

func (c *ctlClient) status(args []string) error {
	var list []serviceState
	if len(args) > 0 {
		var one serviceState
		if err := c.do("GET", "/v1/services/"+url.PathEscape(args[0]), &one); err != nil {
			return err
		}
		list = []serviceState{one}
	} else if err := c.do("GET", "/v1/services", &list); err != nil {
		return err
	}
	printStates(os.Stdout, list, time.Now())
	var cs containerdState
	if len(args) == 0 && c.do("GET", "/v1/containerd", &cs) == nil {
		printContainerd(os.Stdout, cs)
	}
	var ws watchdogState
	if len(args) == 0 && c.do("GET", "/v1/watchdog", &ws) == nil {
		printWatchdog(os.Stdout, ws)
	}
	return nil
}

// printStates writes the service table.
func printStates(w io.Writer, list []serviceState, now time.Time) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSTATE\tPID\tSTARTS\tLAST EXIT\tNEXT START\tUPTIME")
	for _, s := range list {
		pid, last, next, up := "-", "-", "-", "-"
		if s.Pid != 0 {
			pid = fmt.Sprint(s.Pid)
		}
		if s.LastStatus != nil {
			last = fmt.Sprint(*s.LastStatus)
		}
		if !s.NextRestart.IsZero() {
			next = "in " + s.NextRestart.Sub(now).Round(time.Millisecond).String()
		}
		if !s.Since.IsZero() {
			up = now.Sub(s.Since).Round(time.Second).String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\n", s.Name, s.State, pid, s.Starts, last, next, up)
	}
	tw.Flush()
}

func (c *ctlClient) action(name, action string) error {
	var st serviceState
	if err := c.do("POST", "/v1/services/"+url.PathEscape(name)+"/"+action, &st); err != nil {
		return err
	}
	printStates(os.Stdout, []serviceState{st}, time.Now())
	return nil
}

func (c *ctlClient) logs(args []string) error {
	fs := flag.NewFlagSet("keel-ctl logs", flag.ContinueOnError)
	follow := fs.Bool("f", false, "follow: print new lines as they come")
	n := fs.Int("n", 50, "newest lines to print")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("usage: keel-ctl logs [-f] [-n N] NAME")
	}
	q := url.Values{"n": {fmt.Sprint(*n)}}
	if *follow {
		q.Set("follow", "1")
	}
	resp, err := c.request("GET", "/v1/logs/"+url.PathEscape(fs.Arg(0))+"?"+q.Encode())
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	s := bufio.NewScanner(resp.Body)
	s.Buffer(make([]byte, 64<<10), 1<<20)
	for s.Scan() {
		fmt.Println(s.Text())
	}
	return s.Err()
}

// jsonFlag parses the only flag of analyze and memory.
func jsonFlag(cmd string, args []string) (bool, error) {
	fs := flag.NewFlagSet("keel-ctl "+cmd, flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print JSON on one line")
	if err := fs.Parse(args); err != nil {
		return false, err
	}
	if fs.NArg() != 0 {
		return false, fmt.Errorf("usage: keel-ctl %s [--json]", cmd)
	}
	return *asJSON, nil
}

func (c *ctlClient) analyze(args []string) error {
	asJSON, err := jsonFlag("analyze", args)
	if err != nil {
		return err
	}
	var t timeline.Timeline
	var data []byte
	if err := c.do("GET", "/v1/timeline", &t); err != nil {
		// PID 1 may be gone or old: fall back to the file.
		var ferr error
		if data, ferr = os.ReadFile(timeline.Path); ferr != nil {
			return err
		}
	} else {
		data, _ = json.Marshal(&t)
	}
	if asJSON {
		var buf bytes.Buffer
		if err := json.Compact(&buf, data); err != nil {
			return fmt.Errorf("parse timeline: %w", err)
		}
		fmt.Println(buf.String())
		return nil
	}
	return analyze(data, os.Stdout)
}

func (c *ctlClient) memory(args []string) error {
	asJSON, err := jsonFlag("memory", args)
	if err != nil {
		return err
	}
	var m timeline.Memory
	if err := c.do("GET", "/v1/memory", &m); err != nil {
		return err
	}
	if asJSON {
		data, _ := json.Marshal(&m)
		fmt.Println(string(data))
		return nil
	}
	printMemory(os.Stdout, "memory", &m)
	return nil
}

// powerPath is the request path of poweroff, reboot or halt with their flags.
func powerPath(cmd string, args []string) (string, error) {
	fs := flag.NewFlagSet("keel-ctl "+cmd, flag.ContinueOnError)
	withTimeline := fs.Bool("timeline", false, "PID 1 prints the final timeline on the console just before the end")
	if err := fs.Parse(args); err != nil {
		return "", err
	}
	if fs.NArg() != 0 {
		return "", fmt.Errorf("usage: keel-ctl %s [--timeline]", cmd)
	}
	if *withTimeline {
		return "/v1/" + cmd + "?timeline=1", nil
	}
	return "/v1/" + cmd, nil
}

func (c *ctlClient) watchdog(args []string) error {
	path, method := "/v1/watchdog", "GET"
	switch {
	case len(args) == 1 && args[0] == "test":
		path, method = "/v1/watchdog/test", "POST"
	case len(args) != 0:
		return fmt.Errorf("usage: keel-ctl watchdog [test]")
	}
	var ws watchdogState
	if err := c.do(method, path, &ws); err != nil {
		return err
	}
	printWatchdog(os.Stdout, ws)
	return nil
}
