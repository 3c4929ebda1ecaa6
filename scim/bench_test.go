package scim_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/rosterhq/roster/repository"
)

// BenchmarkGroupMemberPatch adds and removes one member of groups of
// different sizes through PATCH. The cost must not grow with the group:
// compare ns/op across the sizes.
//
//	go test ./scim -run '^$' -bench GroupMemberPatch
func BenchmarkGroupMemberPatch(b *testing.B) {
	for _, size := range []int{2, 2000} {
		b.Run(fmt.Sprintf("members=%d", size), func(b *testing.B) {
			e := newEnv(b)
			ids := make([]string, size+1)
			for i := range ids {
				m, err := e.svc.CreateMember(e.ctx, adminActor(e.a), repository.Member{
					AccountID: e.a.id, UserName: fmt.Sprintf("m%d@bench.example", i), Active: true,
				})
				if err != nil {
					b.Fatal(err)
				}
				ids[i] = m.ID
			}
			gid := e.createGroup(e.a, "Bench", ids[:size]...)
			extra := ids[size]
			add := patch(op("add", "members", []any{map[string]any{"value": extra}}))
			remove := patch(op("remove", fmt.Sprintf(`members[value eq "%s"]`, extra), nil))
			b.ResetTimer()
			for range b.N {
				e.do(e.a, "PATCH", "/Groups/"+gid, add).want(b, http.StatusNoContent)
				e.do(e.a, "PATCH", "/Groups/"+gid, remove).want(b, http.StatusNoContent)
			}
		})
	}
}
