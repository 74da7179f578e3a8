package main

import (
	"context"
	"io"
	"net"
	"strconv"
	"sync"

	"golang.org/x/crypto/ssh"
)

// forwarder serves a connection's port forwarding (RFC 4254 section 7): direct-tcpip
// channels (ssh -L) and tcpip-forward requests (ssh -R), when the server allows them.
type forwarder struct {
	srv  *Server
	conn *ssh.ServerConn
	ctx  context.Context

	mu        sync.Mutex
	listeners map[string]net.Listener
}

func (f *forwarder) globalRequests(reqs <-chan *ssh.Request) {
	for req := range reqs {
		switch req.Type {
		case "tcpip-forward":
			f.listen(req)
		case "cancel-tcpip-forward":
			var m struct {
				Addr string
				Port uint32
			}
			ok := ssh.Unmarshal(req.Payload, &m) == nil
			if ok {
				f.mu.Lock()
				key := net.JoinHostPort(m.Addr, strconv.Itoa(int(m.Port)))
				ln := f.listeners[key]
				delete(f.listeners, key)
				f.mu.Unlock()
				ok = ln != nil
				if ln != nil {
					ln.Close()
				}
			}
			req.Reply(ok, nil)
		default:
			// keepalive@openssh.com and the like: a "no" is an answer too.
			if req.WantReply {
				req.Reply(false, nil)
			}
		}
	}
}

// direct connects a direct-tcpip channel to the address it names.
func (f *forwarder) direct(nc ssh.NewChannel) {
	if !f.srv.cfg.AllowForwarding {
		f.srv.cfg.Log.Printf("sshd: refused port forwarding for %s: off (sshd -allow-forwarding)", f.conn.RemoteAddr())
		nc.Reject(ssh.Prohibited, "port forwarding is off")
		return
	}
	var m struct {
		Host       string
		Port       uint32
		OriginHost string
		OriginPort uint32
	}
	if err := ssh.Unmarshal(nc.ExtraData(), &m); err != nil {
		nc.Reject(ssh.ConnectionFailed, "bad direct-tcpip request")
		return
	}
	addr := net.JoinHostPort(m.Host, strconv.Itoa(int(m.Port)))
	go func() {
		var d net.Dialer
		c, err := d.DialContext(f.ctx, "tcp", addr)
		if err != nil {
			nc.Reject(ssh.ConnectionFailed, err.Error())
			return
		}
		ch, reqs, err := nc.Accept()
		if err != nil {
			c.Close()
			return
		}
		go ssh.DiscardRequests(reqs)
		splice(ch, c)
	}()
}

// listen serves a tcpip-forward request: a listener whose connections come back to the
// client as forwarded-tcpip channels.
func (f *forwarder) listen(req *ssh.Request) {
	var m struct {
		Addr string
		Port uint32
	}
	if !f.srv.cfg.AllowForwarding || ssh.Unmarshal(req.Payload, &m) != nil {
		if !f.srv.cfg.AllowForwarding {
			f.srv.cfg.Log.Printf("sshd: refused remote port forwarding for %s: off (sshd -allow-forwarding)", f.conn.RemoteAddr())
		}
		req.Reply(false, nil)
		return
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(m.Addr, strconv.Itoa(int(m.Port))))
	if err != nil {
		f.srv.cfg.Log.Printf("sshd: remote port forwarding for %s: %v", f.conn.RemoteAddr(), err)
		req.Reply(false, nil)
		return
	}
	port := uint32(ln.Addr().(*net.TCPAddr).Port)
	f.mu.Lock()
	if f.listeners == nil {
		f.listeners = map[string]net.Listener{}
	}
	f.listeners[net.JoinHostPort(m.Addr, strconv.Itoa(int(port)))] = ln
	if m.Port != 0 {
		f.listeners[net.JoinHostPort(m.Addr, strconv.Itoa(int(m.Port)))] = ln
	}
	f.mu.Unlock()
	var reply []byte
	if m.Port == 0 {
		reply = ssh.Marshal(struct{ Port uint32 }{port})
	}
	req.Reply(true, reply)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				oh, op, _ := net.SplitHostPort(c.RemoteAddr().String())
				opn, _ := strconv.Atoi(op)
				payload := ssh.Marshal(struct {
					Addr       string
					Port       uint32
					OriginAddr string
					OriginPort uint32
				}{m.Addr, port, oh, uint32(opn)})
				ch, reqs, err := f.conn.OpenChannel("forwarded-tcpip", payload)
				if err != nil {
					c.Close()
					return
				}
				go ssh.DiscardRequests(reqs)
				splice(ch, c)
			}()
		}
	}()
}

func (f *forwarder) closeListeners() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, ln := range f.listeners {
		ln.Close()
	}
	f.listeners = nil
}

// splice copies both ways until both directions ended, passing half-closes on.
func splice(ch ssh.Channel, c net.Conn) {
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		io.Copy(c, ch)
		if tc, ok := c.(*net.TCPConn); ok {
			tc.CloseWrite()
		}
	}()
	go func() {
		defer wg.Done()
		io.Copy(ch, c)
		ch.CloseWrite()
	}()
	wg.Wait()
	ch.Close()
	c.Close()
}
