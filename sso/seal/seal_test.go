package seal

import (
	"bytes"
	"testing"
)

func TestSealOpen(t *testing.T) {
	key := bytes.Repeat([]byte{7}, KeySize)
	s, err := New(key)
	if err != nil {
		t.Fatal(err)
	}
	sealed := s.SealString("oidc-client-secret", "s3cret")
	if sealed == s.SealString("oidc-client-secret", "s3cret") {
		t.Error("two seals of one value are equal: nonce reused")
	}
	got, err := s.OpenString("oidc-client-secret", sealed)
	if err != nil || got != "s3cret" {
		t.Fatalf("open = %q, %v", got, err)
	}
	if _, err := s.OpenString("signing-key", sealed); err == nil {
		t.Error("opened with another purpose")
	}
	other, _ := New(bytes.Repeat([]byte{8}, KeySize))
	if _, err := other.OpenString("oidc-client-secret", sealed); err == nil {
		t.Error("opened with another key")
	}
	if _, err := s.Open("x", []byte("short")); err == nil {
		t.Error("opened a too-short value")
	}
	if _, err := New([]byte("short")); err == nil {
		t.Error("accepted a short key")
	}
}
