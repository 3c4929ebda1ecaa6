package sqlite

import (
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// This file maps record structs onto table columns once, so that the
// INSERT, UPDATE and SELECT of a table and the Go values bound to them
// cannot drift apart.

// colKind says how a Go field is stored.
type colKind uint8

const (
	cText  colKind = iota // string
	cLower                // strings.ToLower of a string field; written, never read
	cBool                 // bool as 0/1
	cTime                 // time.Time as unix nanoseconds (0: zero time)
	cInt                  // int
	cInt64                // int64
	cDur                  // time.Duration as nanoseconds
	cBlob                 // []byte, NULL when empty
	cList                 // []string packed as "<bytes>:<value>"... (see packList); nil when empty
	cSides                // a member's multi-valued attributes packed (see packSides); ptr gives the *member
)

// column is one column of a table of records T; ptr points at the field.
type column[T any] struct {
	name string
	kind colKind
	ptr  func(*T) any
}

// table describes the columns of records T.
type table[T any] struct {
	name string
	cols []column[T]
	// fixed columns are never changed by an UPDATE (account_id, id,
	// created_at).
	fixed map[string]bool
}

// insertSQL returns "INSERT INTO t (...) VALUES (?...)" over the columns
// and then the extra ones (columns kept by the store itself, not mapped
// to the record); args gives the values of the mapped columns.
func (t *table[T]) insertSQL(extra ...string) string {
	names := make([]string, 0, len(t.cols)+len(extra))
	for _, c := range t.cols {
		names = append(names, c.name)
	}
	names = append(names, extra...)
	marks := strings.TrimSuffix(strings.Repeat("?, ", len(names)), ", ")
	return fmt.Sprintf("INSERT INTO %s (%s) VALUES (%s)", t.name, strings.Join(names, ", "), marks)
}

// updateSQL returns "UPDATE t SET c = ?, ... WHERE <where>" over the
// columns that are not fixed, then the extra ones; updateArgs gives the
// values of the mapped columns in that order (the extra values and the
// where arguments follow them).
func (t *table[T]) updateSQL(where string, extra ...string) string {
	var sets []string
	for _, c := range t.cols {
		if !t.fixed[c.name] {
			sets = append(sets, c.name+" = ?")
		}
	}
	for _, name := range extra {
		sets = append(sets, name+" = ?")
	}
	return fmt.Sprintf("UPDATE %s SET %s WHERE %s", t.name, strings.Join(sets, ", "), where)
}

// selectList returns the readable columns, qualified by alias when set.
func (t *table[T]) selectList(alias string) string {
	var names []string
	for _, c := range t.cols {
		if c.kind == cLower {
			continue
		}
		if alias != "" {
			names = append(names, alias+"."+c.name)
		} else {
			names = append(names, c.name)
		}
	}
	return strings.Join(names, ", ")
}

// packedSelect returns one select-list expression that renders every
// readable column of the row aliased alias (see selectList) as
// "<bytes>:<value>", in order; unpack reads it back. A wide row then
// crosses database/sql as one column: the driver's work per column and
// query (names, declared types, conversions) is what a point read of a
// member mostly costs. Every packed column must be NOT NULL.
func (t *table[T]) packedSelect(alias string) string {
	var parts []string
	for _, c := range t.cols {
		switch c.kind {
		case cLower:
			continue
		case cBlob:
			panic("sqlite: packedSelect: BLOB column " + c.name) // a programming error, caught by any test
		}
		parts = append(parts, packedArgs(alias+"."+c.name))
	}
	return "concat(" + strings.Join(parts, ", ") + ")"
}

// packedArgs renders one column for packedSelect as arguments of
// concat(), which builds the whole string in one allocation (a chain of
// || copies it once per column).
func packedArgs(col string) string {
	return fmt.Sprintf("octet_length(%[1]s), ':', %[1]s", col)
}

// unpack fills v from a packedSelect string and returns what follows it.
func (t *table[T]) unpack(s string, v *T) (string, error) {
	for _, c := range t.cols {
		if c.kind == cLower {
			continue
		}
		var val string
		var err error
		if val, s, err = nextPacked(s); err != nil {
			return "", fmt.Errorf("%s.%s: %w", t.name, c.name, err)
		}
		p := c.ptr(v)
		switch c.kind {
		case cText:
			*p.(*string) = val
		case cBool:
			*p.(*bool) = val != "0"
		case cList:
			if *p.(*[]string), err = unpackList(val); err != nil {
				return "", fmt.Errorf("%s.%s: %w", t.name, c.name, err)
			}
		case cSides:
			if err := unpackSides(val, p.(*member)); err != nil {
				return "", fmt.Errorf("%s.%s: %w", t.name, c.name, err)
			}
		case cTime, cInt, cInt64, cDur:
			n, err := strconv.ParseInt(val, 10, 64)
			if err != nil {
				return "", fmt.Errorf("%s.%s: %w", t.name, c.name, err)
			}
			switch c.kind {
			case cTime:
				*p.(*time.Time) = fromNanos(n)
			case cInt:
				*p.(*int) = int(n)
			case cInt64:
				*p.(*int64) = n
			case cDur:
				*p.(*time.Duration) = time.Duration(n)
			}
		}
	}
	return s, nil
}

// nextPacked splits the first "<bytes>:<value>" off s.
func nextPacked(s string) (val, rest string, err error) {
	num, rest, ok := strings.Cut(s, ":")
	n, err := strconv.Atoi(num)
	if !ok || err != nil || n < 0 || n > len(rest) {
		return "", "", errors.New("malformed packed value")
	}
	return rest[:n], rest[n:], nil
}

// packList packs a list of strings into one column: each value as
// "<bytes>:<value>", the encoding packedSelect gives whole rows. A list
// that is only ever read with its row, never filtered on, is stored this
// way instead of in a side table: no B-tree of its own to write and to
// descend on every read.
func packList(vals []string) string {
	var b strings.Builder
	for _, v := range vals {
		writePacked(&b, v)
	}
	return b.String()
}

// writePacked writes v as "<bytes>:<value>", the unit nextPacked reads.
func writePacked(b *strings.Builder, v string) {
	b.WriteString(strconv.Itoa(len(v)))
	b.WriteByte(':')
	b.WriteString(v)
}

// unpackList reads a packList string back; empty is nil.
func unpackList(s string) ([]string, error) {
	var out []string
	for s != "" {
		v, rest, err := nextPacked(s)
		if err != nil {
			return nil, err
		}
		out, s = append(out, v), rest
	}
	return out, nil
}

// args returns the values of every column of v, for insertSQL.
func (t *table[T]) args(v *T) []any {
	out := make([]any, 0, len(t.cols))
	for _, c := range t.cols {
		out = append(out, colValue(c.kind, c.ptr(v)))
	}
	return out
}

// updateArgs returns the values of the columns updateSQL sets.
func (t *table[T]) updateArgs(v *T, where ...any) []any {
	out := make([]any, 0, len(t.cols)+len(where))
	for _, c := range t.cols {
		if !t.fixed[c.name] {
			out = append(out, colValue(c.kind, c.ptr(v)))
		}
	}
	return append(out, where...)
}

// dests returns scan destinations for selectList into v.
func (t *table[T]) dests(v *T) []any {
	out := make([]any, 0, len(t.cols))
	for _, c := range t.cols {
		switch c.kind {
		case cLower:
			continue
		case cTime:
			out = append(out, timeDest{c.ptr(v).(*time.Time)})
		case cDur:
			out = append(out, durDest{c.ptr(v).(*time.Duration)})
		case cBlob:
			out = append(out, blobDest{c.ptr(v).(*[]byte)})
		case cList:
			out = append(out, listDest{c.ptr(v).(*[]string)})
		case cSides:
			out = append(out, sidesDest{c.ptr(v).(*member)})
		default:
			out = append(out, c.ptr(v))
		}
	}
	return out
}

func colValue(k colKind, p any) any {
	switch k {
	case cText:
		return *p.(*string)
	case cLower:
		return strings.ToLower(*p.(*string))
	case cBool:
		return b2i(*p.(*bool))
	case cTime:
		return toNanos(*p.(*time.Time))
	case cInt:
		return int64(*p.(*int))
	case cInt64:
		return *p.(*int64)
	case cDur:
		return int64(*p.(*time.Duration))
	case cBlob:
		if b := *p.(*[]byte); len(b) > 0 {
			return b
		}
		return nil
	case cList:
		return packList(*p.(*[]string))
	case cSides:
		return packSides(p.(*member))
	}
	return nil // unreachable: every kind is handled above
}

// timeDest scans unix nanoseconds into a time.Time.
type timeDest struct{ t *time.Time }

// Scan implements sql.Scanner.
func (d timeDest) Scan(src any) error {
	switch v := src.(type) {
	case int64:
		*d.t = fromNanos(v)
	case nil:
		*d.t = time.Time{}
	default:
		return fmt.Errorf("time column holds %T", src)
	}
	return nil
}

// listDest scans a packList column into a []string.
type listDest struct{ l *[]string }

// Scan implements sql.Scanner.
func (d listDest) Scan(src any) error {
	s, err := textOf(src)
	if err != nil {
		return err
	}
	*d.l, err = unpackList(s)
	return err
}

// sidesDest scans a packSides column into a member.
type sidesDest struct{ m *member }

// Scan implements sql.Scanner.
func (d sidesDest) Scan(src any) error {
	s, err := textOf(src)
	if err != nil {
		return err
	}
	return unpackSides(s, d.m)
}

// textOf is a TEXT column's value as the driver gives it.
func textOf(src any) (string, error) {
	switch v := src.(type) {
	case string:
		return v, nil
	case []byte:
		return string(v), nil
	case nil:
		return "", nil
	}
	return "", fmt.Errorf("text column holds %T", src)
}

// durDest scans nanoseconds into a time.Duration.
type durDest struct{ d *time.Duration }

// Scan implements sql.Scanner.
func (d durDest) Scan(src any) error {
	switch v := src.(type) {
	case int64:
		*d.d = time.Duration(v)
	case nil:
		*d.d = 0
	default:
		return fmt.Errorf("duration column holds %T", src)
	}
	return nil
}

// blobDest scans a BLOB, leaving nil for NULL or empty.
type blobDest struct{ b *[]byte }

// Scan implements sql.Scanner.
func (d blobDest) Scan(src any) error {
	switch v := src.(type) {
	case []byte:
		if len(v) == 0 {
			*d.b = nil
		} else {
			*d.b = append([]byte(nil), v...)
		}
	case string:
		*d.b = []byte(v)
	case nil:
		*d.b = nil
	default:
		return fmt.Errorf("blob column holds %T", src)
	}
	return nil
}

var _ sql.Scanner = timeDest{}
