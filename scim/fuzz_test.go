package scim_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"testing"
)

// FuzzPatchUser sends arbitrary PATCH operations (op, path and value JSON)
// for one user. Whatever they are, the server must answer with a status
// below 500 and a SCIM error body on failure, and a failed request must
// leave the member exactly as it was.
//
//	go test ./scim -run '^$' -fuzz FuzzPatchUser -fuzztime 60s
func FuzzPatchUser(f *testing.F) {
	seeds := []struct{ op, path, value string }{
		{"replace", "title", `"Engineer"`},
		{"Replace", "active", `"False"`},
		{"replace", "", `{"active":false}`},
		{"Add", `emails[type eq "work"].value`, `"a@b.example"`},
		{"add", `addresses[type eq "work"].formatted`, `"1 Main St"`},
		{"replace", `phoneNumbers[type eq "mobile"].value`, `"+1 555"`},
		{"Remove", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", ``},
		{"add", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", `"nobody"`},
		{"replace", "", `{"name.givenName":"x","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department":"d"}`},
		{"replace", "", `{"urn:ietf:params:scim:schemas:extension:roster:2.0:User":{"expertise":["a"],"canManageTeams":"true"}}`},
		{"remove", `emails[type eq "home"]`, ``},
		{"add", "roles", `[{"value":"Administrator"}]`},
		{"replace", "userName", `""`},
		{"replace", "emails", `{"value":"x"}`},
		{"move", "title", `1`},
		{"replace", `emails[type eq "work"`, `"x"`},
		{"add", "", `[]`},
		{"replace", "name", `"flat"`},
		{"replace", "urn:ietf:params:scim:schemas:extension:roster:2.0:User:startDate", `"2024-13-45"`},
		{"replace", "password", `"pw"`},
		{"remove", "members", `null`},
		{"replace", "meta.version", `"W/\"9\""`},
	}
	for _, s := range seeds {
		f.Add(s.op, s.path, s.value)
	}
	e := newEnv(f, func(o *scimOptions) { o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil)) })
	id := e.createUser(e.a, richUser("fuzz@acme.example"))
	e.createUser(e.a, user("taken@acme.example"))

	f.Fuzz(func(t *testing.T, opName, path, value string) {
		e := e.with(t)
		e.store.reset()
		o := map[string]any{"op": opName}
		if path != "" {
			o["path"] = path
		}
		if value != "" {
			if json.Valid([]byte(value)) {
				o["value"] = json.RawMessage(value)
			} else {
				o["value"] = value
			}
		}
		body, err := json.Marshal(map[string]any{
			"schemas":    []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
			"Operations": []any{o},
		})
		if err != nil {
			t.Skip("not encodable") // invalid UTF-8 is replaced, never unencodable; kept for safety
		}
		before := e.member(e.a, id)
		r := e.do(e.a, "PATCH", "/Users/"+id, body)
		if r.status >= 500 {
			t.Fatalf("status %d for %s: %s", r.status, body, r.raw)
		}
		if r.status == http.StatusOK {
			return
		}
		if r.str("schemas.0") != "urn:ietf:params:scim:api:messages:2.0:Error" || r.str("detail") == "" {
			t.Fatalf("status %d without a SCIM error body: %s", r.status, r.raw)
		}
		if after := e.member(e.a, id); !reflect.DeepEqual(before, after) {
			t.Fatalf("failed PATCH %s (status %d) changed the member:\nbefore %+v\nafter  %+v", body, r.status, before, after)
		}
	})
}
