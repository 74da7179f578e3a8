// Command metadata gives a generic machine its own identity at boot, as LinuxKit's metadata
// package does: it tries providers in order (local volumes, QEMU's fw_cfg, the kernel command
// line, a file, cloud metadata services), and from the first that answers writes LinuxKit's
// /run/config tree: provider, userdata, hostname (also set), ssh/authorized_keys, the
// instance's facts, and the files user data asks for (a JSON tree or cloud-config).
//
// Usage: metadata [-config DIR] [-timeout D] [-url NAME=URL]... [PROVIDER...]
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stderr, func(h string) error { return syscall.Sethostname([]byte(h)) }))
}

// run is the command; setHostname sets the machine's name.
func run(args []string, stderr io.Writer, setHostname func(string) error) int {
	logger := log.New(stderr, "metadata: ", 0)
	fs := flag.NewFlagSet("metadata", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("config", configPath, "directory to write")
	timeout := fs.Duration("timeout", 2*time.Second, "time each network provider gets")
	fs.Bool("v", false, "verbose, as LinuxKit's metadata: accepted; every provider tried is logged anyway")
	urls := urlsFromEnv()
	fs.Func("url", "NAME=URL: base URL of a network provider (also METADATA_URL_<NAME>)", func(s string) error {
		name, u, ok := strings.Cut(s, "=")
		if !ok || defaultURLs[name] == "" {
			return fmt.Errorf("want NAME=URL with NAME a network provider, got %q", s)
		}
		urls[name] = u
		return nil
	})
	if err := fs.Parse(args); err != nil {
		return 2
	}
	e := &env{
		client: &http.Client{Transport: &http.Transport{
			Proxy:             nil, // a metadata service is never behind a proxy
			DisableKeepAlives: true,
		}},
		urls:     urls,
		timeout:  *timeout,
		sys:      "/sys",
		dev:      "/dev",
		cmdline:  "/proc/cmdline",
		mountDir: os.TempDir(),
		mount: func(dev, dir, fstype string) error {
			return unix.Mount(dev, dir, fstype, unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "")
		},
		unmount: func(dir string) error { return unix.Unmount(dir, 0) },
		log:     logger,
	}
	names := fs.Args()
	if len(names) == 0 {
		names = defaultOrder
	}
	var providers []provider
	for _, n := range names {
		p, err := newProvider(n, e)
		if err != nil {
			logger.Print(err)
			return 2
		}
		providers = append(providers, p)
	}
	p, d := probe(context.Background(), providers, logger)
	if p == nil {
		logger.Printf("no provider answered (tried %s)", strings.Join(names, ", "))
		return 0
	}
	c, err := openConfigDir(*dir)
	if err != nil {
		logger.Print(err)
		return 1
	}
	defer c.Close()
	if err := apply(c, d, setHostname, logger); err != nil {
		logger.Print(err)
		return 1
	}
	logger.Printf("%s: wrote %s", d.Provider, *dir)
	return 0
}
