package filter

import (
	"fmt"
	"strings"
	"time"

	"github.com/rosterhq/roster/repository"
)

// render prints a compiled filter compactly for table tests:
// and(...), or(...), not(...), any attr(...), `field op value`.
func render(f repository.Filter) string {
	switch f := f.(type) {
	case nil:
		return "<nil>"
	case repository.Compare:
		if f.Op == repository.OpPr && f.Value == nil {
			return fmt.Sprintf("%s pr", f.Field)
		}
		var v string
		switch x := f.Value.(type) {
		case string:
			v = fmt.Sprintf("%q", x)
		case time.Time:
			v = x.Format(time.RFC3339Nano)
			if x.Location() != time.UTC {
				v += "(not UTC)"
			}
		default:
			v = fmt.Sprintf("%v", x)
		}
		return fmt.Sprintf("%s %s %s", f.Field, f.Op, v)
	case repository.And:
		return "and(" + renderAll(f) + ")"
	case repository.Or:
		return "or(" + renderAll(f) + ")"
	case repository.Not:
		return "not(" + render(f.Filter) + ")"
	case repository.Any:
		return "any " + f.Attr + "(" + render(f.Filter) + ")"
	}
	return fmt.Sprintf("?%T", f)
}

func renderAll(fs []repository.Filter) string {
	parts := make([]string, len(fs))
	for i, f := range fs {
		parts[i] = render(f)
	}
	return strings.Join(parts, ", ")
}
