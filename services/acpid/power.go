package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"strconv"
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

// controlClient asks PID 1 over its control socket. It speaks the one HTTP/1.1 exchange
// it needs by hand: net/http's client would triple the binary.
type controlClient struct {
	socket  string
	timeout time.Duration
}

func newControlClient(socket string) *controlClient {
	return &controlClient{socket: socket, timeout: 30 * time.Second}
}

// powerOff asks PID 1 to power the machine off: POST /v1/poweroff, answered 202 once PID 1
// starts the shutdown.
func (c *controlClient) powerOff(ctx context.Context) error {
	status, body, err := c.post(ctx, "/v1/poweroff")
	if err != nil {
		return fmt.Errorf("POST /v1/poweroff on %s: %w", c.socket, err)
	}
	if status/100 == 2 {
		return nil
	}
	var e struct {
		Error string `json:"error"`
	}
	msg := strings.TrimSpace(string(body))
	if json.Unmarshal(body, &e) == nil && e.Error != "" {
		msg = e.Error
	}
	return fmt.Errorf("POST /v1/poweroff: status %d: %s", status, msg)
}

// post sends an empty POST for path and returns the response's status code and body.
func (c *controlClient) post(ctx context.Context, path string) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", c.socket)
	if err != nil {
		return 0, nil, err
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	req := "POST " + path + " HTTP/1.1\r\nHost: keel\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
	if _, err := io.WriteString(conn, req); err != nil {
		return 0, nil, err
	}
	resp, err := io.ReadAll(io.LimitReader(conn, 64<<10))
	if err != nil {
		return 0, nil, err
	}
	return parseResponse(resp)
}

// parseResponse splits an HTTP/1.1 response into its status code and body; a chunked body
// (which PID 1's short JSON answers never are) is returned as it is.
func parseResponse(resp []byte) (int, []byte, error) {
	head, body, ok := bytes.Cut(resp, []byte("\r\n\r\n"))
	if !ok {
		return 0, nil, fmt.Errorf("truncated HTTP response %q", resp)
	}
	line, _, _ := bytes.Cut(head, []byte("\r\n"))
	proto, rest, _ := strings.Cut(string(line), " ")
	code, _, _ := strings.Cut(rest, " ")
	status, err := strconv.Atoi(code)
	if !strings.HasPrefix(proto, "HTTP/1.") || err != nil || status < 100 || status > 999 {
		return 0, nil, fmt.Errorf("bad HTTP status line %q", line)
	}
	return status, body, nil
}
