package scim_test

import (
	"net/http"
	"testing"
)

func TestETags(t *testing.T) {
	e := newEnv(t)
	id := e.createUser(e.a, user("etag@acme.example"))
	gid := e.createGroup(e.a, "E")
	for _, res := range []struct{ kind, path string }{{"User", "/Users/" + id}, {"Group", "/Groups/" + gid}} {
		t.Run(res.kind, func(t *testing.T) {
			g := e.do(e.a, "GET", res.path, nil).want(t, http.StatusOK)
			tag := g.header.Get("ETag")
			if tag == "" || g.str("meta.version") != tag {
				t.Fatalf("ETag %q meta.version %q", tag, g.str("meta.version"))
			}
			// If-None-Match: 304 while unchanged, with no body.
			nm := e.do(e.a, "GET", res.path, nil, "If-None-Match", tag).want(t, http.StatusNotModified)
			if len(nm.raw) != 0 || nm.header.Get("ETag") != tag {
				t.Errorf("304: body %q ETag %q", nm.raw, nm.header.Get("ETag"))
			}
			e.do(e.a, "GET", res.path, nil, "If-None-Match", `W/"999"`).want(t, http.StatusOK)
			e.do(e.a, "GET", res.path, nil, "If-None-Match", "*").want(t, http.StatusNotModified)

			change := patch(op("replace", "displayName", "Changed "+res.kind))
			// If-Match with a stale or foreign tag: 412, nothing changed.
			for _, stale := range []string{`W/"999"`, `"abc"`, `W/"0"`} {
				e.do(e.a, "PATCH", res.path, change, "If-Match", stale).wantError(t, http.StatusPreconditionFailed, "")
			}
			if again := e.do(e.a, "GET", res.path, nil).want(t, http.StatusOK); again.header.Get("ETag") != tag {
				t.Fatalf("a failed If-Match changed the resource")
			}
			// The current tag (weak or strong form, or in a list) and * pass.
			p := e.do(e.a, "PATCH", res.path, change, "If-Match", `W/"1", `+tag)
			if p.status != http.StatusOK && p.status != http.StatusNoContent {
				t.Fatalf("PATCH with current If-Match: %d %s", p.status, p.raw)
			}
			newTag := p.header.Get("ETag")
			if newTag == tag || newTag == "" {
				t.Errorf("the ETag did not change: %q", newTag)
			}
			e.do(e.a, "PATCH", res.path, change, "If-Match", "*").want(t, p.status)
			// A no-op change keeps the version.
			if again := e.do(e.a, "GET", res.path, nil).want(t, http.StatusOK); again.header.Get("ETag") != newTag {
				t.Errorf("a PATCH changing nothing changed the version: %q -> %q", newTag, again.header.Get("ETag"))
			}
			// DELETE with a stale tag fails, with the current one succeeds.
			e.do(e.a, "DELETE", res.path, nil, "If-Match", tag).wantError(t, http.StatusPreconditionFailed, "")
			e.do(e.a, "DELETE", res.path, nil, "If-Match", newTag).want(t, http.StatusNoContent)
			e.do(e.a, "PATCH", res.path, change, "If-Match", "*").wantError(t, http.StatusNotFound, "")
		})
	}
}

func TestPutUser(t *testing.T) {
	e := newEnv(t)
	body := richUser("put@acme.example")
	id := e.createUser(e.a, body)
	// An admin gives a role and support details in the app: they are not
	// managed by the IdP.
	if _, err := e.svc.UpdateMember(e.ctx, adminActor(e.a), e.a.id, id, nil, func(m memberT) (memberT, error) {
		m.Profile.Hometown = "Arlington"
		return m, nil
	}); err != nil {
		t.Fatal(err)
	}
	before := e.do(e.a, "GET", "/Users/"+id, nil).want(t, http.StatusOK)

	// Okta's PUT: the full user as it knows it, including read-only parts.
	put := map[string]any{
		"schemas":  []any{"urn:ietf:params:scim:schemas:core:2.0:User"},
		"id":       id,
		"userName": "put@acme.example",
		"name":     map[string]any{"givenName": "Grace", "familyName": "Hopper-Murray"},
		"emails":   []any{map[string]any{"value": "gh@work.example", "type": "work", "primary": true}},
		"active":   true,
		"password": "n3w-Passw0rd",
		"groups":   []any{},
		"meta":     before.get("meta"),
	}
	r := e.do(e.a, "PUT", "/Users/"+id, put, "If-Match", before.header.Get("ETag")).want(t, http.StatusOK)
	checks := map[string]any{
		"name.familyName":                      "Hopper-Murray",
		"name.middleName":                      nil, // sent before by the IdP, left out now: cleared
		"emails.1":                             nil,
		"displayName":                          nil,
		"phoneNumbers":                         nil,
		`["` + urnEnterprise + `"].department`: nil,
		`["` + urnRoster + `"].hometown`:       "Arlington", // never set by the IdP: kept
		"roles":                                nil,         // set by the IdP at creation, left out now
	}
	for path, want := range checks {
		if got := r.get(path); (got == nil) != (want == nil) || (want != nil && got != want) {
			t.Errorf("%s = %v, want %v", path, got, want)
		}
	}
	if _, ok := r.body["password"]; ok {
		t.Errorf("password returned")
	}
	if m := e.member(e.a, id); !checkPassword(m.PasswordHash, "n3w-Passw0rd") {
		t.Errorf("password not changed by PUT")
	}
	e.do(e.a, "PUT", "/Users/"+id, put, "If-Match", before.header.Get("ETag")).wantError(t, http.StatusPreconditionFailed, "")
	e.do(e.a, "PUT", "/Users/nope", put).wantError(t, http.StatusNotFound, "")
	e.do(e.a, "PUT", "/Users/"+id, map[string]any{"name": map[string]any{"givenName": "x"}}).wantError(t, http.StatusBadRequest, "invalidValue")
}
