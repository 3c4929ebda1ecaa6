package provisioning

import (
	"fmt"

	"golang.org/x/crypto/bcrypt"
)

// maxPasswordBytes is bcrypt's input limit: longer passwords would be
// silently truncated by other implementations, so they are refused.
const maxPasswordBytes = 72

// HashPassword returns the stored form of a password a person chose (or an
// identity provider set for them): a bcrypt hash with its own salt.
//
// Unlike HashToken, a slow salted hash is right here: people pick guessable
// passwords, so a stolen hash must be expensive to test guesses against.
func HashPassword(plain string) (string, error) {
	switch {
	case plain == "":
		return "", &Error{Code: CodeInvalidValue, Attribute: "password", Message: "the password must not be empty"}
	case len(plain) > maxPasswordBytes:
		return "", &Error{Code: CodeInvalidValue, Attribute: "password",
			Message: fmt.Sprintf("the password must be at most %d bytes long", maxPasswordBytes)}
	}
	h, err := bcrypt.GenerateFromPassword([]byte(plain), bcrypt.DefaultCost)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return string(h), nil
}

// CheckPassword reports whether plain is the password hash was made from.
// An empty or malformed hash matches nothing.
func CheckPassword(hash, plain string) bool {
	if hash == "" {
		return false
	}
	return bcrypt.CompareHashAndPassword([]byte(hash), []byte(plain)) == nil
}
