// Command dm-crypt opens an encrypted volume at boot with Debian's cryptsetup, with the
// options of LinuxKit's dm-crypt package: with -luks a LUKS2 volume, created on the device
// the first time (only if the device is blank), else a plain dm-crypt mapping. The key is a
// file: a name relative to /etc/dm-crypt, or an absolute path such as
// /run/config/dm-crypt/key. The volume appears as /dev/mapper/NAME; when it holds no
// filesystem yet, it gets ext4.
//
//	dm-crypt [-luks] [-key-file NAME] [-label NAME] DM_NAME DEVICE
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"time"

	"github.com/keel-os/keel/onboot/internal/disk"
)

// keyDir is where relative key file names are.
const keyDir = "/etc/dm-crypt"

// plainCipher is LinuxKit's cipher for plain mappings: a plain volume has no header
// recording it, so it must stay the same for volumes made by LinuxKit to open.
const plainCipher = "aes-cbc-essiv:sha256"

// dmName is what device-mapper accepts as a name here.
var dmName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.+-]{0,126}$`)

func main() {
	c := crypt{out: os.Stdout, mapper: "/dev/mapper", run: disk.Run, isLuks: isLuks,
		waitFor: func(p string) error { return disk.WaitBlock(p, 10*time.Second) }}
	os.Exit(c.main(os.Args[1:]))
}

// crypt holds what dm-crypt needs from the machine, so tests can replace it.
type crypt struct {
	out    io.Writer
	mapper string // where device-mapper's nodes are
	run    func(name string, args ...string) error
	isLuks func(dev string) bool
	// waitFor waits for the mapped device's node
	waitFor func(path string) error
}

type options struct {
	luks                 bool
	keyFile, label       string
	name, device, mapped string
}

func parse(args []string, out io.Writer, mapper string) (options, error) {
	var o options
	fl := flag.NewFlagSet("dm-crypt", flag.ContinueOnError)
	fl.SetOutput(out)
	fl.BoolVar(&o.luks, "luks", false, "a LUKS2 volume (created on a blank device), not a plain mapping")
	fl.BoolVar(&o.luks, "l", false, "short for -luks")
	fl.StringVar(&o.keyFile, "key-file", "key", "key file: a name in "+keyDir+", or an absolute path")
	fl.StringVar(&o.keyFile, "k", "key", "short for -key-file")
	fl.StringVar(&o.label, "label", "", "label of the ext4 made on a new volume")
	if err := fl.Parse(args); err != nil {
		return o, err
	}
	if fl.NArg() != 2 {
		return o, fmt.Errorf("want DM_NAME DEVICE, got %q", fl.Args())
	}
	o.name, o.device = fl.Arg(0), fl.Arg(1)
	if !dmName.MatchString(o.name) {
		return o, fmt.Errorf("name %q: want letters, digits and _.+-", o.name)
	}
	if !filepath.IsAbs(o.keyFile) {
		o.keyFile = filepath.Join(keyDir, o.keyFile)
	}
	o.mapped = filepath.Join(mapper, o.name)
	return o, nil
}

func (c *crypt) logf(format string, args ...any) {
	fmt.Fprintf(c.out, "dm-crypt: "+format+"\n", args...)
}

func (c *crypt) main(args []string) int {
	o, err := parse(args, c.out, c.mapper)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		c.logf("%v", err)
		return 2
	}
	if err := c.open(o); err != nil {
		c.logf("%v", err)
		return 1
	}
	return 0
}

func (c *crypt) open(o options) error {
	if _, err := os.Stat(o.keyFile); err != nil {
		return fmt.Errorf("key file: %w", err)
	}
	if _, err := os.Stat(o.mapped); err == nil {
		c.logf("%s is open already", o.mapped)
		return nil
	}
	if o.luks {
		if !c.isLuks(o.device) {
			sig, err := signature(o.device)
			if err != nil {
				return err
			}
			if sig != "" {
				return fmt.Errorf("%s holds a %s, not a LUKS volume: left untouched", o.device, sig)
			}
			// The key is a random file, not a passphrase: a slow key derivation would only
			// cost time and memory (argon2id's default wants up to 1 GiB).
			if err := c.run("cryptsetup", "luksFormat", "--batch-mode", "--type", "luks2",
				"--pbkdf", "pbkdf2", "--pbkdf-force-iterations", "1000", "--key-file", o.keyFile, o.device); err != nil {
				return err
			}
			c.logf("%s: new LUKS2 volume", o.device)
		}
		// The volume key goes in the dm table, not the kernel keyring: the default seccomp
		// profile refuses add_key.
		if err := c.run("cryptsetup", "open", "--type", "luks", "--disable-keyring", "--key-file", o.keyFile, o.device, o.name); err != nil {
			return err
		}
	} else if err := c.run("cryptsetup", "open", "--type", "plain", "--cipher", plainCipher, "--key-file", o.keyFile, o.device, o.name); err != nil {
		return err
	}
	if err := c.waitFor(o.mapped); err != nil {
		return err
	}
	sig, err := signature(o.mapped)
	if err != nil {
		return err
	}
	if sig == "" {
		args := []string{"-q", "-F", "-t", "ext4"}
		if o.label != "" {
			args = append(args, "-L", o.label)
		}
		if err := c.run("mke2fs", append(args, o.mapped)...); err != nil {
			return err
		}
		c.logf("%s: new ext4", o.mapped)
	}
	c.logf("%s opened as %s", o.device, o.mapped)
	return nil
}

// signature returns what Probe finds on the device at path.
func signature(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	size, err := disk.Size(f)
	if err != nil {
		return "", err
	}
	sig, err := disk.Probe(f, size)
	if err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	return sig, nil
}

// isLuks asks cryptsetup whether dev holds a LUKS header.
func isLuks(dev string) bool {
	return exec.Command("cryptsetup", "isLuks", dev).Run() == nil
}
