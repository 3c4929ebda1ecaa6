// Package seal encrypts the secrets Roster must keep but never show again
// (OIDC client secrets, access-token signing keys) with the deployment's
// secret key, AES-256-GCM with a random nonce per value.
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
)

// KeySize is the length of the secret key in bytes.
const KeySize = 32

// Sealer seals and opens values with one key. The zero value is unusable;
// make one with New.
type Sealer struct {
	aead cipher.AEAD
}

// New returns a Sealer for a 32-byte key.
func New(key []byte) (*Sealer, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("seal: key must be %d bytes, got %d", KeySize, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	return &Sealer{aead: aead}, nil
}

// Seal encrypts plaintext; purpose binds the result to one use (it is
// authenticated, not stored), so a sealed client secret cannot be
// presented as a sealed signing key.
func (s *Sealer) Seal(purpose string, plaintext []byte) []byte {
	nonce := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(plaintext)+s.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		panic("seal: crypto/rand failed: " + err.Error()) // crypto/rand never fails on supported platforms
	}
	return s.aead.Seal(nonce, nonce, plaintext, []byte(purpose))
}

// Open decrypts a value sealed for purpose.
func (s *Sealer) Open(purpose string, sealed []byte) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(sealed) < n+s.aead.Overhead() {
		return nil, errors.New("seal: value too short")
	}
	out, err := s.aead.Open(nil, sealed[:n], sealed[n:], []byte(purpose))
	if err != nil {
		return nil, fmt.Errorf("seal: open %s: wrong key or corrupt value", purpose)
	}
	return out, nil
}

// SealString seals a string and encodes it as base64 (for JSON configs).
func (s *Sealer) SealString(purpose, plaintext string) string {
	return base64.RawStdEncoding.EncodeToString(s.Seal(purpose, []byte(plaintext)))
}

// OpenString opens a value made by SealString.
func (s *Sealer) OpenString(purpose, sealed string) (string, error) {
	b, err := base64.RawStdEncoding.DecodeString(sealed)
	if err != nil {
		return "", errors.New("seal: value is not base64")
	}
	out, err := s.Open(purpose, b)
	return string(out), err
}
