package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	srvconfig "github.com/containerd/containerd/v2/cmd/containerd/server/config"
)

// containerd 2's version-4 configuration ignores a top-level [grpc] section: the sockets are
// the grpc and ttrpc server plugins' settings. Read the built-in configuration the way
// containerd does and check it puts every socket and the state where PID 1 looks for them.
func TestBuiltInContainerdConfigPutsItsSocketsWherePID1DialsThem(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(path, []byte(containerdConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	var c srvconfig.Config
	if err := srvconfig.LoadConfig(context.Background(), path, &c); err != nil {
		t.Fatalf("containerd cannot read the built-in configuration: %v", err)
	}
	if c.State != containerdRun || c.Root != containerdRoot {
		t.Errorf("state %q, root %q; want %q, %q", c.State, c.Root, containerdRun, containerdRoot)
	}
	for plugin, want := range map[string]string{
		"io.containerd.server.v1.grpc":  containerdSocket,
		"io.containerd.server.v1.ttrpc": containerdSocket + ".ttrpc",
		"io.containerd.shim.v1.manager": shimSockets,
	} {
		m, _ := c.Plugins[plugin].(map[string]any)
		key := "address"
		if plugin == "io.containerd.shim.v1.manager" {
			key = "socket_dir"
		}
		if got := m[key]; got != want {
			t.Errorf("%s %s = %v; want %q", plugin, key, got, want)
		}
	}
	if got := c.Timeouts["io.containerd.timeout.shim.load"]; got != shimLoadTimeout {
		t.Errorf("shim load timeout %q; want %q", got, shimLoadTimeout)
	}
}
