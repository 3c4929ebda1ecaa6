package scim_test

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"

	"github.com/rosterhq/roster/repository"
	"github.com/rosterhq/roster/scim"
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

// entraUserBody is the POST /Users body Microsoft Entra ID sends in an
// initial cycle (as cmd/roster-load sends it) for user i.
func entraUserBody(i int) []byte {
	return fmt.Appendf(nil, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],`+
		`"externalId":"3f1e2d4c-%04x-4%03x-8000-%012x","userName":"ada.lovelace.bench%07d@contoso.example","active":true,`+
		`"displayName":"Ada Lovelace","emails":[{"primary":true,"type":"work","value":"ada.lovelace.bench%07d@contoso.example"}],`+
		`"meta":{"resourceType":"User"},"name":{"formatted":"Ada Lovelace","familyName":"Lovelace","givenName":"Ada"},`+
		`"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"employeeNumber":"E%07d","department":"Customer Support"}}`,
		i>>16&0xffff, i>>4&0xfff, i, i, i, i)
}

// benchServer is a SCIM server over a fresh SQLite store, called
// in-process (no TCP), with one account.
type benchServer struct {
	e *env
	h http.Handler
}

func newBenchServer(b *testing.B) *benchServer {
	e := newEnv(b)
	s, err := scim.New(e.svc, scim.Options{BaseURL: baseURL, RateLimit: -1,
		Logger: slog.New(slog.NewTextHandler(testWriter{b}, nil))})
	if err != nil {
		b.Fatal(err)
	}
	return &benchServer{e: e, h: s.Handler()}
}

// serve sends one request straight to the handler and checks its status.
func (bs *benchServer) serve(b *testing.B, method, target string, body []byte, want int) *httptest.ResponseRecorder {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req := httptest.NewRequestWithContext(bs.e.ctx, method, target, rd)
	req.Header.Set("Authorization", "Bearer "+bs.e.a.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	rec := httptest.NewRecorder()
	bs.h.ServeHTTP(rec, req)
	if rec.Code != want {
		b.Fatalf("%s %s: status %d, want %d: %s", method, target, rec.Code, want, rec.Body.Bytes())
	}
	return rec
}

// seedUsers creates users 0..n-1 through POST /Users, so they are exactly
// what an IdP's sync leaves behind.
func (bs *benchServer) seedUsers(b *testing.B, n int) {
	for i := range n {
		bs.serve(b, http.MethodPost, "/Users", entraUserBody(i), http.StatusCreated)
	}
}

func userNameFilter(i int) string {
	return "/Users?" + url.Values{"filter": {fmt.Sprintf(`userName eq "ada.lovelace.bench%07d@contoso.example"`, i)}}.Encode()
}

// BenchmarkCreateUser is the write half of an initial sync: POST /Users
// with Entra's body, authentication, rules, audit event and response
// included.
//
//	go test ./scim -run '^$' -bench CreateUser -benchmem
func BenchmarkCreateUser(b *testing.B) {
	bs := newBenchServer(b)
	bs.seedUsers(b, 1000)
	i := 1000
	defer reportCPU(b)()
	for b.Loop() {
		bs.serve(b, http.MethodPost, "/Users", entraUserBody(i), http.StatusCreated)
		i++
	}
}

// BenchmarkLookupUserName is an IdP's "does this user exist" question:
// GET /Users?filter=userName eq "…", for users that exist (hit) and do
// not (miss, what an initial sync asks first), serially and from
// parallel clients.
//
//	go test ./scim -run '^$' -bench LookupUserName -benchmem
func BenchmarkLookupUserName(b *testing.B) {
	const users = 5000
	bs := newBenchServer(b)
	bs.seedUsers(b, users)
	for _, c := range []struct {
		name     string
		offset   int
		parallel bool
	}{{"hit", 0, false}, {"miss", users, false}, {"hit-parallel", 0, true}} {
		b.Run(c.name, func(b *testing.B) {
			defer reportCPU(b)()
			if !c.parallel {
				i := 0
				for b.Loop() {
					i = (i + 7919) % users
					bs.serve(b, http.MethodGet, userNameFilter(c.offset+i), nil, http.StatusOK)
				}
				return
			}
			var next atomic.Int64
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := int(next.Add(7919) % users)
					bs.serve(b, http.MethodGet, userNameFilter(c.offset+i), nil, http.StatusOK)
				}
			})
		})
	}
}
