package sso

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/rosterhq/roster/sso/seal"
)

// SecretKeyFile is the name of the generated secret key in the embedded
// store's data directory.
const SecretKeyFile = "secret.key"

// LoadOrCreateSecretKey returns the secret key kept in path (base64 text),
// generating a new random one there (mode 0600) when the file does not
// exist. It is for the embedded store's first run: one process, one data
// directory. A deployment of several instances configures sso.secret_key.
func LoadOrCreateSecretKey(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		key, derr := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
		if derr != nil || len(key) != seal.KeySize {
			return nil, fmt.Errorf("secret key file %s is not %d bytes of base64: restore it, or configure sso.secret_key", path, seal.KeySize)
		}
		return key, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read secret key: %w", err)
	}
	key := make([]byte, seal.KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("generate secret key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("write secret key: %w", err)
	}
	// O_EXCL: two processes starting at once on one data directory must
	// not both write a key; the loser reads the winner's.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return LoadOrCreateSecretKey(path)
	}
	if err != nil {
		return nil, fmt.Errorf("write secret key: %w", err)
	}
	_, werr := f.WriteString(base64.StdEncoding.EncodeToString(key) + "\n")
	cerr := f.Close()
	if werr != nil || cerr != nil {
		_ = os.Remove(path)
		return nil, fmt.Errorf("write secret key %s: %w", path, errors.Join(werr, cerr))
	}
	return key, nil
}
