package sqlite

import (
	"strings"
	"testing"
)

func TestTmpExplain(t *testing.T) {
	s := newStore(t)
	for _, q := range []string{qGetMemberByName, qSideOne} {
		t.Log(strings.Join(explain(t, s, q, "a", "b"), "\n"))
		t.Log(strings.Join(explainOn(t, s.w, q, "a", "b"), "\n"))
	}
}
