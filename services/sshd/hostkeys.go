package main

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/crypto/ssh"
)

// hostKeyTypes are the host keys sshd keeps, by file name: ed25519 first, which every
// current client prefers; ecdsa for clients without it.
var hostKeyTypes = []struct {
	file string
	gen  func() (any, error)
}{
	{"ssh_host_ed25519_key", func() (any, error) {
		_, k, err := ed25519.GenerateKey(rand.Reader)
		return k, err
	}},
	{"ssh_host_ecdsa_key", func() (any, error) {
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}},
}

// loadHostKeys reads the host keys from dir, generating and storing each one missing
// (OpenSSH's private key format, 0600, with a .pub beside it), so that a machine whose dir
// is on a disk keeps its identity across boots.
func loadHostKeys(dir string) ([]ssh.Signer, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("host key directory: %w", err)
	}
	var signers []ssh.Signer
	for _, t := range hostKeyTypes {
		path := filepath.Join(dir, t.file)
		data, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			data, err = generateHostKey(path, t.gen)
		}
		if err != nil {
			return nil, fmt.Errorf("host key %s: %w", path, err)
		}
		s, err := ssh.ParsePrivateKey(data)
		if err != nil {
			return nil, fmt.Errorf("host key %s: %w", path, err)
		}
		signers = append(signers, s)
	}
	return signers, nil
}

// generateHostKey makes a key, writes it to path and its public half to path.pub, and
// returns the private key file's contents.
func generateHostKey(path string, gen func() (any, error)) ([]byte, error) {
	key, err := gen()
	if err != nil {
		return nil, fmt.Errorf("generate: %w", err)
	}
	block, err := ssh.MarshalPrivateKey(key, "root@keel")
	if err != nil {
		return nil, fmt.Errorf("marshal: %w", err)
	}
	data := pem.EncodeToMemory(block)
	signer, err := ssh.ParsePrivateKey(data)
	if err != nil {
		return nil, err
	}
	// The public key first: a private key without it is complete, the reverse is not.
	if err := writeAtomic(path+".pub", ssh.MarshalAuthorizedKey(signer.PublicKey()), 0o644); err != nil {
		return nil, err
	}
	if err := writeAtomic(path, data, 0o600); err != nil {
		return nil, err
	}
	return data, nil
}

// writeAtomic writes data to a temporary file beside path with mode perm, syncs it and
// renames it into place, so that a crash leaves the old file or the new one, never a part.
func writeAtomic(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // fails harmlessly once renamed
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
