package oidcrp

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
)

// stateVersion tags the stored record so a later format can tell old ones.
const stateVersion = 1

// loginState is what StartLogin stores under the state until the callback.
type loginState struct {
	Version   int    `json:"v"`
	AccountID string `json:"a"`
	ConnID    string `json:"c"`
	// Browser is browserHash of the binding cookie: the store never holds
	// the cookie itself.
	Browser  string `json:"b"`
	Verifier string `json:"pv"`
	Nonce    string `json:"n"`
	ReturnTo string `json:"r,omitempty"`
}

func (s loginState) encode() ([]byte, error) {
	b, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("encode login state: %w", err)
	}
	return b, nil
}

func decodeState(b []byte) (loginState, error) {
	var s loginState
	if err := json.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf("decode login state: %w", err)
	}
	if s.Version != stateVersion || s.ConnID == "" || s.Browser == "" || s.Verifier == "" || s.Nonce == "" {
		return s, errors.New("decode login state: incomplete record")
	}
	return s, nil
}

// stateKey is the store key of a state: its hash, so the store (shared by
// every instance, maybe backed up) never holds a live state value.
func stateKey(state string) string {
	sum := sha256.Sum256([]byte(state))
	return "oidc-state:" + base64.RawURLEncoding.EncodeToString(sum[:])
}

// browserHash hashes the browser-binding cookie value, domain-separated
// from any other use of it.
func browserHash(browserID string) string {
	sum := sha256.Sum256([]byte("roster oidc browser binding\x00" + browserID))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// sameBrowser compares in constant time.
func sameBrowser(stored, browserID string) bool {
	if browserID == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(stored), []byte(browserHash(browserID))) == 1
}

// wellFormedState tells whether s can be a state we made (43 base64url
// characters), so garbage is refused without a store round trip.
func wellFormedState(s string) bool {
	if len(s) != 43 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
