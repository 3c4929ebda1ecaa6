package filter

import (
	"strconv"
	"strings"

	"github.com/rosterhq/roster/repository"
)

// The parser turns text into a small syntax tree that still holds names as
// written; resolving them against a resource's attributes is the job of
// the compiler (compile.go) and of ParsePath (path.go).

// attrPath is [URN ":"] name ["." sub] as written.
type attrPath struct {
	raw  string // the whole path as written
	off  int    // offset of the path in the input
	urn  string // canonical URN of a known schema, else the URN as written; "" when unqualified
	name string // "" when the path is a bare schema URN
	sub  string
}

type expr interface{ isExpr() }

// litKind is the JSON type of a comparison value.
type litKind uint8

const (
	litNone litKind = iota // pr takes no value
	litString
	litNumber
	litTrue
	litFalse
	litNull
)

type literal struct {
	kind litKind
	text string // as written
	str  string // decoded, for litString
}

// describe renders the value for an error message.
func (l literal) describe() string {
	switch l.kind {
	case litString:
		return strconv.Quote(clip(l.str))
	case litNumber:
		return "number " + clip(l.text)
	case litTrue:
		return "true"
	case litFalse:
		return "false"
	case litNull:
		return "null"
	}
	return "no value"
}

// cmpExpr is attrExp: path op value, or path pr.
type cmpExpr struct {
	path attrPath
	op   repository.Op
	val  literal
}

// logExpr is two or more operands joined by "and" (and true) or "or".
type logExpr struct {
	and bool
	xs  []expr
}

type notExpr struct{ x expr }

// valPathExpr is attr[filter], optionally followed by ".sub op value" (an
// extension: see doc.go).
type valPathExpr struct {
	path   attrPath
	filter expr
	text   string   // the filter between the brackets, as written
	then   *cmpExpr // the ".sub op value" part, nil without one
}

func (cmpExpr) isExpr()     {}
func (logExpr) isExpr()     {}
func (notExpr) isExpr()     {}
func (valPathExpr) isExpr() {}

type parser struct {
	w     what
	src   string
	lex   lexer
	buf   [2]token // lookahead: buf[:n]
	n     int
	depth int
	terms int
}

func newParser(w what, src string) (*parser, error) {
	if err := checkInput(w, src); err != nil {
		return nil, err
	}
	return &parser{w: w, src: src, lex: lexer{w: w, src: src}}, nil
}

// peekAt returns the token n places ahead (n is 0 or 1). Past the end or
// a lexing error it keeps returning that tEOF or tErr token.
func (p *parser) peekAt(n int) token {
	for p.n <= n {
		if p.n > 0 && (p.buf[p.n-1].kind == tEOF || p.buf[p.n-1].kind == tErr) {
			return p.buf[p.n-1]
		}
		p.buf[p.n] = p.lex.next()
		p.n++
	}
	return p.buf[n]
}

func (p *parser) peek() token { return p.peekAt(0) }

func (p *parser) advance() token {
	t := p.peek()
	if t.kind != tEOF && t.kind != tErr {
		p.buf[0] = p.buf[1]
		p.n--
	}
	return t
}

// unexpected reports the current token and what the grammar wanted there.
func (p *parser) unexpected(expected string) error {
	t := p.peek()
	switch t.kind {
	case tErr:
		return t.err
	case tEOF:
		return p.w.errorf("unexpected end of input at offset %d, expected %s", t.off, expected)
	}
	return p.w.errorf("unexpected %s at offset %d, expected %s", t.describe(), t.off, expected)
}

func (p *parser) isKeyword(t token, kw string) bool {
	return t.kind == tWord && strings.EqualFold(t.text, kw)
}

// parseFilter parses a whole filter. A blank filter is a nil expr.
func parseFilter(src string) (expr, error) {
	p, err := newParser(whatFilter, src)
	if err != nil {
		return nil, err
	}
	if p.peek().kind == tEOF {
		return nil, nil
	}
	x, err := p.or(false)
	if err != nil {
		return nil, err
	}
	if p.peek().kind != tEOF {
		return nil, p.unexpected(`"and", "or" or the end of the filter`)
	}
	return x, nil
}

// or parses FILTER at the loosest precedence: and-terms joined by "or".
func (p *parser) or(inValue bool) (expr, error) {
	return p.logical(inValue, false)
}

// logical parses operands joined by "or" (and == false) or "and".
func (p *parser) logical(inValue, and bool) (expr, error) {
	kw := "or"
	next := func() (expr, error) { return p.logical(inValue, true) }
	if and {
		kw = "and"
		next = func() (expr, error) { return p.unary(inValue) }
	}
	first, err := next()
	if err != nil {
		return nil, err
	}
	xs := []expr{first}
	for p.isKeyword(p.peek(), kw) {
		p.advance()
		x, err := next()
		if err != nil {
			return nil, err
		}
		xs = append(xs, x)
	}
	if len(xs) == 1 {
		return first, nil
	}
	return logExpr{and: and, xs: xs}, nil
}

func (p *parser) enter() error {
	p.depth++
	if p.depth > maxDepth {
		return p.w.errorf("nested more than %d levels deep at offset %d", maxDepth, p.peek().off)
	}
	return nil
}

// unary parses "(" FILTER ")", "not" "(" FILTER ")", a value path or an
// attribute expression.
func (p *parser) unary(inValue bool) (expr, error) {
	t := p.peek()
	switch {
	case t.kind == tLParen:
		p.advance()
		return p.group(inValue)
	case p.isKeyword(t, "not") && p.peekAt(1).kind == tLParen:
		p.advance()
		p.advance()
		x, err := p.group(inValue)
		if err != nil {
			return nil, err
		}
		return notExpr{x: x}, nil
	case p.isKeyword(t, "not") && p.peekAt(1).kind == tWord && !isOperator(p.peekAt(1).text):
		// "not title pr": RFC 7644 wants not(...).
		return nil, p.w.errorf(`expected "(" after "not" at offset %d`, p.peekAt(1).off)
	case (p.isKeyword(t, "and") || p.isKeyword(t, "or")) && !isOperator(p.peekAt(1).text):
		// A missing operand, as in `a eq "x" or or b pr`.
		return nil, p.unexpected(`an attribute name, "(" or "not"`)
	case t.kind == tWord:
		p.advance()
		path, err := p.attrPath(t)
		if err != nil {
			return nil, err
		}
		if p.peek().kind == tLBrack {
			if inValue {
				return nil, p.w.errorf("value filter inside a value filter at offset %d", p.peek().off)
			}
			return p.valuePath(path)
		}
		return p.comparison(path)
	}
	return nil, p.unexpected(`an attribute name, "(" or "not"`)
}

// group parses FILTER ")" after an opening parenthesis.
func (p *parser) group(inValue bool) (expr, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	x, err := p.or(inValue)
	if err != nil {
		return nil, err
	}
	if p.peek().kind != tRParen {
		return nil, p.unexpected(`"and", "or" or ")"`)
	}
	p.advance()
	p.depth--
	return x, nil
}

// valuePath parses "[" valFilter "]" after path, and the optional
// ".sub op value" that may follow in a filter.
func (p *parser) valuePath(path attrPath) (expr, error) {
	open := p.advance()
	if err := p.enter(); err != nil {
		return nil, err
	}
	x, err := p.or(true)
	if err != nil {
		return nil, err
	}
	if p.peek().kind != tRBrack {
		return nil, p.unexpected(`"and", "or" or "]"`)
	}
	closing := p.advance()
	p.depth--
	vp := valPathExpr{path: path, filter: x, text: strings.TrimSpace(p.src[open.off+1 : closing.off])}
	if p.w == whatFilter && p.peek().kind == tDot {
		p.advance()
		sub, err := p.subAttr()
		if err != nil {
			return nil, err
		}
		c, err := p.comparison(attrPath{raw: path.raw + "[...]." + sub.text, off: sub.off, name: sub.text})
		if err != nil {
			return nil, err
		}
		cmp := c.(cmpExpr)
		vp.then = &cmp
	}
	return vp, nil
}

// subAttr reads the ATTRNAME after "]." .
func (p *parser) subAttr() (token, error) {
	t := p.peek()
	if t.kind != tWord {
		return t, p.unexpected("a sub-attribute name")
	}
	p.advance()
	if !validName(t.text) {
		return t, p.w.errorf("invalid sub-attribute name %q at offset %d", clip(t.text), t.off)
	}
	return t, nil
}

func isOperator(s string) bool {
	_, ok := operator(s)
	return ok
}

func operator(s string) (repository.Op, bool) {
	if len(s) != 2 {
		return "", false
	}
	switch op := repository.Op(strings.ToLower(s)); op {
	case repository.OpEq, repository.OpNe, repository.OpCo, repository.OpSw, repository.OpEw,
		repository.OpGt, repository.OpGe, repository.OpLt, repository.OpLe, repository.OpPr:
		return op, true
	}
	return "", false
}

// comparison parses the operator and value after an attribute path.
func (p *parser) comparison(path attrPath) (expr, error) {
	t := p.peek()
	op, ok := operator(t.text)
	if t.kind != tWord || !ok {
		return nil, p.unexpected("an operator (eq, ne, co, sw, ew, gt, ge, lt, le or pr)")
	}
	p.advance()
	p.terms++
	if p.terms > maxTerms {
		return nil, p.w.errorf("more than %d comparisons", maxTerms)
	}
	if op == repository.OpPr {
		return cmpExpr{path: path, op: op}, nil
	}
	v := p.peek()
	lit := literal{text: v.text}
	switch {
	case v.kind == tString:
		lit.kind, lit.str = litString, v.val
	case v.kind == tNumber:
		lit.kind = litNumber
	case p.isKeyword(v, "true"):
		lit.kind = litTrue
	case p.isKeyword(v, "false"):
		lit.kind = litFalse
	case p.isKeyword(v, "null"):
		lit.kind = litNull
	default:
		return nil, p.unexpected("a comparison value (a string in double quotes, a number, true, false or null)")
	}
	p.advance()
	return cmpExpr{path: path, op: op, val: lit}, nil
}

// attrPath splits a word into schema URN, attribute and sub-attribute.
// Known schema URNs are recognised in any case and returned in canonical
// form; an unknown URN is cut at its last colon and left for the resolver
// to reject by name.
func (p *parser) attrPath(t token) (attrPath, error) {
	path := attrPath{raw: t.text, off: t.off}
	rest := t.text
	if len(rest) >= 4 && strings.EqualFold(rest[:4], "urn:") {
		known := false
		for _, urn := range allSchemas {
			switch {
			case strings.EqualFold(rest, urn):
				path.urn, rest, known = urn, "", true
			case len(rest) > len(urn) && rest[len(urn)] == ':' && strings.EqualFold(rest[:len(urn)], urn):
				path.urn, rest, known = urn, rest[len(urn)+1:], true
			}
			if known {
				break
			}
		}
		if !known {
			i := strings.LastIndexByte(rest, ':')
			path.urn, rest = rest[:i], rest[i+1:]
		}
		if rest == "" {
			return path, nil
		}
	}
	parts := strings.Split(rest, ".")
	for _, part := range parts {
		if !validName(part) {
			return path, p.w.errorf("invalid attribute path %q at offset %d", clip(t.text), t.off)
		}
	}
	if len(parts) > 2 {
		return path, p.w.errorf("attribute path %q at offset %d has more than one sub-attribute level", clip(t.text), t.off)
	}
	path.name = parts[0]
	if len(parts) == 2 {
		path.sub = parts[1]
	}
	return path, nil
}

// validName reports whether s is an ATTRNAME: a letter (or "$", for
// "$ref") followed by letters, digits, "-", "_" or "$".
func validName(s string) bool {
	if s == "" || !isWordStart(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !isWordStart(c) && !isDigit(c) && c != '-' && c != '_' {
			return false
		}
	}
	return true
}

// pathSyntax is a parsed PATCH path: attrPath ["[" valFilter "]" ["." sub]].
type pathSyntax struct {
	path   attrPath
	filter expr // nil without "[...]"
	text   string
	sub    string // after "].", "" without one
	subOff int
}

// parsePathSyntax parses a PATCH path, an attributes entry or a sortBy
// (w says which; only PATCH paths may carry a value filter).
func parsePathSyntax(w what, src string) (pathSyntax, error) {
	var ps pathSyntax
	p, err := newParser(w, src)
	if err != nil {
		return ps, err
	}
	t := p.peek()
	if t.kind == tEOF {
		return ps, w.errorf("empty %s", w)
	}
	if t.kind != tWord {
		return ps, p.unexpected("an attribute name")
	}
	p.advance()
	if ps.path, err = p.attrPath(t); err != nil {
		return ps, err
	}
	if w == whatPath && p.peek().kind == tLBrack {
		if ps.path.name == "" {
			return ps, w.errorf("value filter at offset %d needs an attribute before it", p.peek().off)
		}
		x, err := p.valuePath(ps.path)
		if err != nil {
			return ps, err
		}
		vp := x.(valPathExpr)
		ps.filter, ps.text = vp.filter, vp.text
		if p.peek().kind == tDot {
			p.advance()
			sub, err := p.subAttr()
			if err != nil {
				return ps, err
			}
			ps.sub, ps.subOff = sub.text, sub.off
		}
	}
	if p.peek().kind != tEOF {
		if w == whatPath && ps.filter == nil {
			return ps, p.unexpected(`"[" or the end of the path`)
		}
		return ps, p.unexpected("the end of the " + string(w))
	}
	return ps, nil
}
