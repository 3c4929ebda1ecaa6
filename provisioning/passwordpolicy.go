package provisioning

import (
	_ "embed"
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/rosterhq/roster/repository"
)

// Password rules for passwords people choose (accepting an invitation).
const (
	// MinPasswordLength is the fewest characters a chosen password has:
	// length is what makes a password hard to guess (NIST SP 800-63B).
	MinPasswordLength = 12
	// MaxPasswordLength is the most characters it may have. bcrypt reads
	// at most 72 bytes, so HashPassword also refuses more than 72 bytes:
	// with characters beyond ASCII that limit comes first.
	MaxPasswordLength = 128
)

//go:embed commonpasswords.txt
var commonPasswordsText string

// commonPasswords is the set of commonpasswords.txt, built once.
var commonPasswords = sync.OnceValue(func() map[string]struct{} {
	set := map[string]struct{}{}
	for _, line := range strings.Split(commonPasswordsText, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		set[strings.ToLower(line)] = struct{}{}
	}
	return set
})

// CheckNewPassword checks a password a person chose for member m: 12 to
// 128 characters (and at most 72 bytes, bcrypt's limit), not one
// character repeated, not the member's email address, user name or name,
// and not one of the most common passwords of public breaches (or one of
// them repeated). A refusal is CodeInvalidValue on "password" saying which
// rule failed; the message never echoes the password.
func CheckNewPassword(password string, m repository.Member) error {
	bad := func(format string, args ...any) error {
		return &Error{Code: CodeInvalidValue, Attribute: "password", Message: fmt.Sprintf(format, args...)}
	}
	n := utf8.RuneCountInString(password)
	switch {
	case !utf8.ValidString(password):
		return bad("the password is not valid UTF-8 text")
	case n < MinPasswordLength:
		return bad("the password must be at least %d characters long", MinPasswordLength)
	case n > MaxPasswordLength:
		return bad("the password must be at most %d characters long", MaxPasswordLength)
	case len(password) > maxPasswordBytes:
		return bad("the password must be at most %d bytes long (letters beyond ASCII take 2 to 4 bytes each)", maxPasswordBytes)
	case strings.TrimSpace(password) == "":
		return bad("the password must not be only spaces")
	}
	first, _ := utf8.DecodeRuneInString(password)
	if strings.Trim(password, string(first)) == "" {
		return bad("the password must not be one character repeated")
	}
	fold := func(s string) string { return strings.Join(strings.Fields(strings.ToLower(s)), "") }
	p := fold(password)
	personal := []string{m.UserName, m.DisplayName, m.NickName, m.Name.Formatted,
		m.Name.GivenName + m.Name.FamilyName, m.Name.FamilyName + m.Name.GivenName}
	for _, e := range m.Emails {
		personal = append(personal, e.Value)
		if local, _, found := strings.Cut(e.Value, "@"); found {
			personal = append(personal, local)
		}
	}
	if local, _, found := strings.Cut(m.UserName, "@"); found {
		personal = append(personal, local)
	}
	for _, v := range personal {
		if v := fold(v); v != "" && v == p {
			return bad("the password must not be your email address, user name or name")
		}
	}
	if isCommonPassword(p) {
		return bad("this password is one of the most common passwords in public data breaches: choose another")
	}
	return nil
}

// isCommonPassword reports whether p (folded) is in the common list, or a
// common one repeated ("passwordpassword", "123456123456").
func isCommonPassword(p string) bool {
	set := commonPasswords()
	if _, found := set[p]; found {
		return true
	}
	for size := 1; size <= len(p)/2; size++ {
		if len(p)%size != 0 {
			continue
		}
		unit := p[:size]
		if strings.Repeat(unit, len(p)/size) != p {
			continue
		}
		if _, found := set[unit]; found {
			return true
		}
	}
	return false
}
