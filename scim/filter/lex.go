package filter

import (
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Limits on input size. Filters from IdPs are a few dozen bytes; the limits
// keep a hostile filter from costing the parser or a backend much (SQLite,
// for one, refuses expression trees deeper than 1000).
const (
	maxInputLen = 16 << 10 // bytes
	maxDepth    = 32       // nested parentheses, not(...) and [...]
	maxTerms    = 256      // comparisons in one filter
)

type tokKind uint8

const (
	tEOF    tokKind = iota
	tWord           // attribute path, operator, keyword, true/false/null
	tString         // quoted string; val holds the decoded text
	tNumber         // JSON number; text holds it
	tLParen
	tRParen
	tLBrack
	tRBrack
	tDot
	tErr // not a token; err says why
)

type token struct {
	kind tokKind
	off  int    // byte offset of the token in the input
	text string // the token as written
	val  string // decoded value of a tString
	err  error  // for tErr
}

// describe renders a token for an error message.
func (t token) describe() string {
	switch t.kind {
	case tEOF:
		return "end of input"
	case tString:
		return "string " + clip(t.text)
	case tNumber:
		return "number " + clip(t.text)
	default:
		return "token " + strconv.Quote(clip(t.text))
	}
}

// clip shortens long input quoted into error messages.
func clip(s string) string {
	const max = 100
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func punct(c byte) tokKind {
	switch c {
	case '(':
		return tLParen
	case ')':
		return tRParen
	case '[':
		return tLBrack
	case ']':
		return tRBrack
	}
	return tDot
}

func isWordStart(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '$'
}

func isWordChar(c byte) bool {
	return isWordStart(c) || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == ':'
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// checkInput applies the limits every input shares: its length and valid
// UTF-8 (the stores, Mongo among them, need valid UTF-8 strings).
func checkInput(w what, src string) error {
	if len(src) > maxInputLen {
		return w.errorf("longer than %d bytes", maxInputLen)
	}
	if !utf8.ValidString(src) {
		for i := 0; i < len(src); {
			r, n := utf8.DecodeRuneInString(src[i:])
			if r == utf8.RuneError && n == 1 {
				return w.errorf("invalid UTF-8 at offset %d", i)
			}
			i += n
		}
	}
	return nil
}

// lexer reads one token at a time, so a filter that goes wrong early costs
// no more than its first few tokens.
type lexer struct {
	w   what
	src string
	pos int
}

// next returns the next token: tEOF at the end, and tErr (for good) on
// input that is not a token. Words are attribute paths including any
// schema URN and dotted sub-attribute
// ("urn:ietf:params:scim:schemas:core:2.0:User:name.givenName" is one
// word); a "." is a token of its own only after "]".
func (l *lexer) next() token {
	src, i := l.src, l.pos
	for i < len(src) && (src[i] == ' ' || src[i] == '\t' || src[i] == '\n' || src[i] == '\r') {
		i++
	}
	if i == len(src) {
		l.pos = i
		return token{kind: tEOF, off: i}
	}
	c := src[i]
	start := i
	var t token
	switch {
	case c == '(' || c == ')' || c == '[' || c == ']' || c == '.':
		t = token{kind: punct(c), off: i, text: src[i : i+1]}
		i++
	case c == '"' || c == '\'':
		val, end, err := lexString(l.w, src, i)
		if err != nil {
			return token{kind: tErr, off: i, err: err}
		}
		t = token{kind: tString, off: i, text: src[i:end], val: val}
		i = end
	case c == '-' || isDigit(c):
		end, err := lexNumber(l.w, src, i)
		if err != nil {
			return token{kind: tErr, off: i, err: err}
		}
		t = token{kind: tNumber, off: i, text: src[i:end]}
		i = end
	case isWordStart(c):
		for i < len(src) && isWordChar(src[i]) {
			i++
		}
		t = token{kind: tWord, off: start, text: src[start:i]}
	default:
		r, _ := utf8.DecodeRuneInString(src[i:])
		return token{kind: tErr, off: i, err: l.w.errorf("unexpected character %q at offset %d", r, i)}
	}
	l.pos = i
	return t
}

// lexString decodes the JSON string starting at src[start]. Strings in
// single quotes are accepted too, with the same escapes plus \': some
// clients send them and they cannot be mistaken for anything else.
func lexString(w what, src string, start int) (string, int, error) {
	quote := src[start]
	var b strings.Builder
	i := start + 1
	for {
		if i >= len(src) {
			return "", 0, w.errorf("unterminated string starting at offset %d", start)
		}
		c := src[i]
		switch {
		case c == quote:
			return b.String(), i + 1, nil
		case c < 0x20:
			return "", 0, w.errorf("control character %q in string at offset %d: escape it", rune(c), i)
		case c != '\\':
			b.WriteByte(c)
			i++
			continue
		}
		// An escape sequence.
		if i+1 >= len(src) {
			return "", 0, w.errorf("unterminated string starting at offset %d", start)
		}
		e := src[i+1]
		switch e {
		case '"', '\\', '/', '\'':
			if e == '\'' && quote != '\'' {
				return "", 0, w.errorf("invalid escape %q in string at offset %d", src[i:i+2], i)
			}
			b.WriteByte(e)
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'u':
			r, n, ok := hex4(src, i+2)
			if !ok {
				return "", 0, w.errorf("invalid escape %q in string at offset %d", clip(src[i:min(i+6, len(src))]), i)
			}
			next := i + 2 + n
			if utf16.IsSurrogate(r) {
				// A surrogate pair is two escapes; a lone half decodes
				// to U+FFFD as in encoding/json.
				if next+1 < len(src) && src[next] == '\\' && src[next+1] == 'u' {
					if r2, n2, ok := hex4(src, next+2); ok {
						if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
							r = dec
							next += 2 + n2
						} else {
							r = utf8.RuneError
						}
					} else {
						r = utf8.RuneError
					}
				} else {
					r = utf8.RuneError
				}
			}
			if r == 0 {
				return "", 0, w.errorf("NUL character in string at offset %d", i)
			}
			b.WriteRune(r)
			i = next
			continue
		default:
			return "", 0, w.errorf("invalid escape %q in string at offset %d", src[i:i+1+utf8RuneLen(src[i+1:])], i)
		}
		i += 2
	}
}

func utf8RuneLen(s string) int {
	_, n := utf8.DecodeRuneInString(s)
	return n
}

// hex4 reads four hex digits at src[i:].
func hex4(src string, i int) (rune, int, bool) {
	if i+4 > len(src) {
		return 0, 0, false
	}
	v, err := strconv.ParseUint(src[i:i+4], 16, 32)
	if err != nil {
		return 0, 0, false
	}
	return rune(v), 4, true
}

// lexNumber scans a JSON number (RFC 8259) starting at src[start].
func lexNumber(w what, src string, start int) (int, error) {
	i := start
	bad := func() (int, error) {
		end := i
		for end < len(src) && (isWordChar(src[end]) || src[end] == '+') {
			end++
		}
		return 0, w.errorf("invalid number %q at offset %d (string values need double quotes)", clip(src[start:max(end, i)]), start)
	}
	if src[i] == '-' {
		i++
	}
	switch {
	case i < len(src) && src[i] == '0':
		i++
	case i < len(src) && isDigit(src[i]):
		for i < len(src) && isDigit(src[i]) {
			i++
		}
	default:
		return bad()
	}
	if i < len(src) && src[i] == '.' {
		i++
		if i == len(src) || !isDigit(src[i]) {
			return bad()
		}
		for i < len(src) && isDigit(src[i]) {
			i++
		}
	}
	if i < len(src) && (src[i] == 'e' || src[i] == 'E') {
		i++
		if i < len(src) && (src[i] == '+' || src[i] == '-') {
			i++
		}
		if i == len(src) || !isDigit(src[i]) {
			return bad()
		}
		for i < len(src) && isDigit(src[i]) {
			i++
		}
	}
	if i < len(src) && isWordChar(src[i]) {
		return bad()
	}
	return i, nil
}
