package filter

import "testing"

// BenchmarkCompileEntra compiles the filters Microsoft Entra ID sends
// while provisioning: the user lookup before a create, the externalId and
// work-email matching attributes, and the group membership check.
func BenchmarkCompileEntra(b *testing.B) {
	cases := []struct {
		name string
		r    Resource
		expr string
	}{
		{"userName", Users, `userName eq "Test_User_dd0ab1c9-a7b4-4f1e-9d8b-3bf4c64a1d3b@contoso.onmicrosoft.com"`},
		{"externalId", Users, `externalId eq "9950b140-90a0-4201-9d65-b5f209fb4cd0"`},
		{"workEmail", Users, `emails[type eq "work"].value eq "dale.mohr@romaguera.uk"`},
		{"groupMember", Groups, `id eq "0d8e1e6c-73f2-4b4e-9a57-2c8f0c3b7e11" and members eq "9950b140-90a0-4201-9d65-b5f209fb4cd0"`},
	}
	for _, bc := range cases {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := bc.r.Compile(bc.expr); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkParsePathEntra parses the PATCH path Entra sends for the work
// email.
func BenchmarkParsePathEntra(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Users.ParsePath(`emails[type eq "work"].value`); err != nil {
			b.Fatal(err)
		}
	}
}
