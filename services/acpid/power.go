package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// debouncer lets one press through per window: a held or repeatedly pressed button, or
// two devices reporting the same press, asks PID 1 once.
type debouncer struct {
	window time.Duration
	mu     sync.Mutex
	last   time.Time // when the last press was let through; zero after reset
}

// allow reports whether a press at now starts a new window.
func (d *debouncer) allow(now time.Time) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.last.IsZero() && now.Sub(d.last) < d.window {
		return false
	}
	d.last = now
	return true
}

// reset lets the next press through, after a request that failed.
func (d *debouncer) reset() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.last = time.Time{}
}

// controlClient asks PID 1 over its control socket (HTTP over a unix socket).
type controlClient struct {
	http *http.Client
}

func newControlClient(socket string) *controlClient {
	return &controlClient{http: &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, "unix", socket)
			},
		},
	}}
}

// powerOff asks PID 1 to power the machine off: POST /v1/poweroff, answered 202 once PID 1
// starts the shutdown.
func (c *controlClient) powerOff(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://keel/v1/poweroff", nil)
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("POST /v1/poweroff: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 == 2 {
		return nil
	}
	var e struct {
		Error string `json:"error"`
	}
	msg := strings.TrimSpace(string(body))
	if json.Unmarshal(body, &e) == nil && e.Error != "" {
		msg = e.Error
	}
	return fmt.Errorf("POST /v1/poweroff: %s: %s", resp.Status, msg)
}
