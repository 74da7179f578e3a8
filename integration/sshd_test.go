package integration

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
)

// sshdPackages are the packages the sshd image needs beyond the example's.
var sshdPackages = []string{"services/sshd", "onboot/dhcpcd", "metadata"}

// sshdBuilds builds sshdPackages once per arch.
var sshdBuilds sync.Map // arch → func() error

// TestSSHDServesRootOverTheNetwork boots keel/sshd with user networking and a host port
// forwarded to the guest's 22, with root's key added through the YAML's files:, and over SSH:
// runs commands (output, exit status), a pty shell that follows window changes, an SFTP
// round trip of 10 MB with its checksum, checks that a wrong key and a password are refused
// and that 50 connections that never log in do not stop a real login, then powers the
// machine off.
func TestSSHDServesRootOverTheNetwork(t *testing.T) {
	needGuest(t)
	// Not s390x: under this QEMU (7.2, TCG) an s390x guest counts every TCP segment from the
	// user network as a checksum error (TcpInCsumErrors; DHCP's UDP gets through), with or
	// without checksum offload and the vector facility, so no TCP connection reaches sshd.
	arches := []string{"amd64", "arm64"}
	if testing.Short() {
		arches = arches[:1]
	}
	for _, arch := range arches {
		t.Run(arch, func(t *testing.T) { testSSHD(t, arch) })
	}
}

func testSSHD(t *testing.T, arch string) {
	needArch(t, arch)
	build, _ := sshdBuilds.LoadOrStore(arch, sync.OnceValue(func() error { return buildArch(arch, sshdPackages) }))
	if err := build.(func() error)(); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	user := newSSHSigner(t)
	stranger := newSSHSigner(t)
	pub := filepath.Join(dir, "root.pub")
	if err := os.WriteFile(pub, ssh.MarshalAuthorizedKey(user.PublicKey()), 0o644); err != nil {
		t.Fatal(err)
	}
	keyYAML := filepath.Join(dir, "key.yml")
	if err := os.WriteFile(keyYAML, []byte(fmt.Sprintf("files:\n  - path: root/.ssh/authorized_keys\n    source: %s\n    mode: \"0600\"\n", pub)), 0o644); err != nil {
		t.Fatal(err)
	}
	image := buildImageFor(t, arch, "integration/testdata/sshd.yml", dir, "--name", "sshd", keyYAML)
	// A second key comes as cloud-config user data, through keel/metadata.
	metaUser := newSSHSigner(t)
	userData := filepath.Join(dir, "user-data")
	if err := os.WriteFile(userData, []byte("#cloud-config\nssh_authorized_keys:\n  - "+string(ssh.MarshalAuthorizedKey(metaUser.PublicKey()))), 0o644); err != nil {
		t.Fatal(err)
	}

	port := sshFreePort(t)
	machine := startSSHGuest(t, image, "--arch", arch, "--nic", "user", "--hostfwd", fmt.Sprintf("tcp:127.0.0.1:%d-:22", port), "--data-file", userData)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	client, hostKey := waitForSSH(t, machine, addr, user)
	defer client.Close()
	sameHost := ssh.FixedHostKey(hostKey)

	// run runs cmd in a new session of client; subtests call it, so it reports, never fails.
	run := func(cmd string) (string, error) {
		s, err := client.NewSession()
		if err != nil {
			return "", fmt.Errorf("session for %q: %w", cmd, err)
		}
		defer s.Close()
		out, err := s.CombinedOutput(cmd)
		return string(out), err
	}

	t.Run("TheHostKeyIsOneSSHDLogged", func(t *testing.T) {
		// sshd has an ED25519 and an ECDSA key; the client picks by its own preference.
		names := map[string]string{ssh.KeyAlgoED25519: "ED25519", ssh.KeyAlgoECDSA256: "ECDSA"}
		name, ok := names[hostKey.Type()]
		if !ok {
			t.Fatalf("host key %s, want ssh-ed25519 or ecdsa-sha2-nistp256", hostKey.Type())
		}
		machine.waitLine(t, "sshd: host key "+name+" "+ssh.FingerprintSHA256(hostKey))
	})
	t.Run("ExecReturnsOutputAndExitStatus", func(t *testing.T) {
		if out, err := run("uname -m"); err != nil || strings.TrimSpace(out) != unames[arch] {
			t.Errorf("uname -m: %q, %v; want %s", out, err, unames[arch])
		}
		out, err := run("echo hi; exit 3")
		var ee *ssh.ExitError
		if !errors.As(err, &ee) || ee.ExitStatus() != 3 || out != "hi\n" {
			t.Errorf("echo hi; exit 3: %q, %v; want hi and status 3", out, err)
		}
	})
	t.Run("AKeyFromUserDataLogsInToo", func(t *testing.T) {
		c, err := dialSSH(addr, ssh.PublicKeys(metaUser), sameHost)
		if err != nil {
			t.Fatalf("login with the user data's key: %v", err)
		}
		c.Close()
		if out, err := run("cat /run/config/ssh/authorized_keys"); err != nil || !strings.Contains(out, strings.TrimSpace(string(ssh.MarshalAuthorizedKey(metaUser.PublicKey())))) {
			t.Errorf("/run/config/ssh/authorized_keys: %v\n%s", err, out)
		}
	})
	t.Run("SessionsHaveRootsHomeAPathAndKeelCtl", func(t *testing.T) {
		out, err := run(`echo "$HOME $(pwd) $PATH"; command -v keel-ctl; ls /tmp/bin/sha256sum`)
		want := "/root /root /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/tmp/bin\n/usr/bin/keel-ctl\n/tmp/bin/sha256sum\n"
		if err != nil || out != want {
			t.Errorf("got %q, %v; want %q", out, err, want)
		}
	})
	// The rest is the same Go code on every arch: amd64 shows it; other arches only show
	// that sshd starts, logs in and runs a command there.
	if arch == "amd64" {
		sshdSuite(t, machine, client, addr, run, user, stranger, sameHost)
	}
	t.Run("PoweroffOverSSHPowersOffCleanly", func(t *testing.T) {
		s, err := client.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		s.Start("poweroff") // the session may end with the machine before it reports
		if err := machine.wait(3 * time.Minute); err != nil {
			t.Errorf("keel run qemu: %v", err)
		}
		mustContain(t, machine.console(), poweredOff)
	})
}

// sshdSuite is the part of the sshd test that does not differ by arch.
func sshdSuite(t *testing.T, machine *sshGuest, client *ssh.Client, addr string, run func(string) (string, error), user, stranger ssh.Signer, sameHost ssh.HostKeyCallback) {
	t.Run("PTYShellFollowsWindowChanges", func(t *testing.T) { sshPTYSession(t, client) })
	t.Run("SFTPRoundTripOf10MBKeepsItsChecksum", func(t *testing.T) {
		sum := sshSFTPRoundTrip(t, client)
		if out, err := run("sha256sum big.bin"); err != nil || !strings.HasPrefix(out, sum) {
			t.Errorf("sha256sum on the machine: %q, %v; want %s", out, err, sum)
		}
	})
	t.Run("WrongKeyAndPasswordAreRefused", func(t *testing.T) {
		for name, auth := range map[string]ssh.AuthMethod{"a wrong key": ssh.PublicKeys(stranger), "a password": ssh.Password("root")} {
			c, err := dialSSH(addr, auth, sameHost)
			if err == nil {
				c.Close()
				t.Errorf("%s logged in", name)
			} else if !strings.Contains(err.Error(), "unable to authenticate") {
				t.Errorf("%s: %v, want the login refused", name, err)
			}
		}
		machine.waitLine(t, "sshd: failed publickey for root from 10.0.2.2:", "ED25519 "+ssh.FingerprintSHA256(stranger.PublicKey())+": key not authorized")
		machine.waitLine(t, "sshd: failed login for root from 10.0.2.2:")
	})
	t.Run("FiftyPendingConnectionsDoNotStopALogin", func(t *testing.T) {
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for range 50 {
			c, err := net.DialTimeout("tcp", addr, 10*time.Second)
			if err != nil {
				t.Fatalf("connection %d: %v", len(held), err)
			}
			held = append(held, c)
		}
		machine.waitLine(t, "sshd: dropped connection from 10.0.2.2:")
		// Past sshd's -evict-after (2s) and one -rate-interval (3s) for a token.
		time.Sleep(4 * time.Second)
		c, err := dialSSH(addr, ssh.PublicKeys(user), sameHost)
		if err != nil {
			t.Fatalf("login beside 50 pending connections: %v", err)
		}
		defer c.Close()
		s, err := c.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		if out, err := s.Output("echo in"); err != nil || string(out) != "in\n" {
			t.Errorf("command after the login: %q, %v", out, err)
		}
	})
	t.Run("LoginsAreLoggedWithTheirKey", func(t *testing.T) {
		machine.waitLine(t, "sshd: accepted publickey for root from 10.0.2.2:", "ED25519 "+ssh.FingerprintSHA256(user.PublicKey()))
		if out, err := run("cat /var/log/sshd.log"); err != nil || !strings.Contains(out, "sshd: accepted publickey for root") {
			t.Errorf("/var/log/sshd.log: %v\n%s", err, out)
		}
	})
}

func newSSHSigner(t *testing.T) ssh.Signer {
	t.Helper()
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// sshFreePort returns a port on 127.0.0.1 that was free a moment ago.
func sshFreePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// sshGuest is a keel run qemu in the background and its console.
type sshGuest struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  bytes.Buffer
	done chan error
}

func (v *sshGuest) Write(p []byte) (int, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.out.Write(p)
}

func (v *sshGuest) console() string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.out.String()
}

// wait waits for keel run to end and returns its error.
func (v *sshGuest) wait(timeout time.Duration) error {
	select {
	case err := <-v.done:
		v.done <- err
		return err
	case <-time.After(timeout):
		return fmt.Errorf("still running after %s", timeout)
	}
}

func (v *sshGuest) running() bool {
	select {
	case err := <-v.done:
		v.done <- err
		return false
	default:
		return true
	}
}

// startSSHGuest boots image with keel run qemu and flags; the test's end stops it and, if the
// test failed, shows its console.
func startSSHGuest(t *testing.T, image string, flags ...string) *sshGuest {
	t.Helper()
	argv := append([]string{"run", "qemu", "--accel", "tcg", "--timeout", "10m"}, flags...)
	v := &sshGuest{cmd: exec.Command(keelBin, append(argv, image)...), done: make(chan error, 1)}
	v.cmd.Stdout, v.cmd.Stderr = v, v
	start := time.Now()
	if err := v.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { v.done <- v.cmd.Wait() }()
	t.Cleanup(func() {
		if v.running() {
			v.cmd.Process.Kill()
			v.wait(time.Minute)
		}
		t.Logf("boot of %s took %s", filepath.Base(image), time.Since(start).Round(time.Millisecond))
		if t.Failed() || testing.Verbose() {
			t.Logf("console:\n%s", v.console())
		}
	})
	return v
}

// dialSSH logs in as root at addr; the whole handshake has a deadline, since QEMU accepts
// a forwarded connection before the guest does.
func dialSSH(addr string, auth ssh.AuthMethod, hostKey ssh.HostKeyCallback) (*ssh.Client, error) {
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return nil, err
	}
	c.SetDeadline(time.Now().Add(60 * time.Second))
	conn, chans, reqs, err := ssh.NewClientConn(c, addr, &ssh.ClientConfig{
		User: "root", Auth: []ssh.AuthMethod{auth}, HostKeyCallback: hostKey,
	})
	if err != nil {
		c.Close()
		return nil, err
	}
	c.SetDeadline(time.Time{})
	return ssh.NewClient(conn, chans, reqs), nil
}

// waitForSSH logs in as soon as the guest's sshd answers, and returns the host key it showed.
func waitForSSH(t *testing.T, v *sshGuest, addr string, user ssh.Signer) (*ssh.Client, ssh.PublicKey) {
	t.Helper()
	deadline := time.Now().Add(8 * time.Minute)
	for {
		var hostKey ssh.PublicKey
		c, err := dialSSH(addr, ssh.PublicKeys(user), func(_ string, _ net.Addr, k ssh.PublicKey) error {
			hostKey = k
			return nil
		})
		if err == nil {
			return c, hostKey
		}
		if !v.running() || time.Now().After(deadline) {
			t.Fatalf("no SSH login at %s: %v", addr, err)
		}
		time.Sleep(2 * time.Second)
	}
}

// waitLine waits up to a minute for a console line holding every text.
func (v *sshGuest) waitLine(t *testing.T, texts ...string) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		for _, l := range strings.Split(v.console(), "\n") {
			all := true
			for _, s := range texts {
				all = all && strings.Contains(l, s)
			}
			if all {
				return
			}
		}
	}
	t.Errorf("console has no line with %q", texts)
}

// sshPTYSession runs a shell on a pty: the terminal type and size arrive, and a window change
// reaches it.
func sshPTYSession(t *testing.T, client *ssh.Client) {
	s, err := client.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.RequestPty("xterm", 24, 80, ssh.TerminalModes{ssh.ECHO: 0}); err != nil {
		t.Fatal(err)
	}
	stdin, err := s.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	s.Stdout, s.Stderr = pw, pw
	if err := s.Shell(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			lines <- strings.TrimRight(sc.Text(), "\r")
		}
		close(lines)
	}()
	expect := func(want string) {
		t.Helper()
		timeout := time.After(time.Minute)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("shell output ended before %q", want)
				}
				if strings.Contains(l, want) && !strings.Contains(l, "echo") {
					return
				}
			case <-timeout:
				t.Fatalf("no %q from the shell", want)
			}
		}
	}
	fmt.Fprintln(stdin, `echo "T=$TERM TTY=$(tty) SIZE=$(stty size)"`)
	expect("T=xterm TTY=/dev/pts/")
	fmt.Fprintln(stdin, `echo "SIZE=$(stty size)"`)
	expect("SIZE=24 80")
	if err := s.WindowChange(40, 120); err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(stdin, `echo "SIZE=$(stty size)"`)
	expect("SIZE=40 120")
	fmt.Fprintln(stdin, "exit 5")
	err = s.Wait()
	pw.Close()
	var ee *ssh.ExitError
	if !errors.As(err, &ee) || ee.ExitStatus() != 5 {
		t.Errorf("shell ended with %v, want status 5", err)
	}
}

// sshSFTPRoundTrip puts 10 MB of random bytes into root's home and reads them back, and
// returns their SHA-256 in hex.
func sshSFTPRoundTrip(t *testing.T, client *ssh.Client) string {
	c, err := sftp.NewClient(client)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	data := make([]byte, 10<<20)
	rand.Read(data)
	want := sha256.Sum256(data)
	start := time.Now()
	f, err := c.Create("big.bin")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.ReadFrom(bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	r, err := c.Open("big.bin")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	h := sha256.New()
	if _, err := r.WriteTo(h); err != nil {
		t.Fatal(err)
	}
	if got := h.Sum(nil); !bytes.Equal(got, want[:]) {
		t.Errorf("sha256 after the round trip %x, want %x", got, want)
	}
	t.Logf("sftp: 10 MB up and down in %s", time.Since(start).Round(time.Millisecond))
	return hex.EncodeToString(want[:])
}
