package oidcrp

import (
	"testing"
)

// BenchmarkCallback measures a whole callback as the bridge runs it: take
// the state from SQLite, check browser and iss, exchange the code at the
// test OP's token endpoint (HTTP over loopback, in the same process, so
// the OP's handler runs on the same two cores), verify the ID token with
// cached keys. Starting the login and the OP's signing are outside the
// timer (the test OP signs at its authorization endpoint).
func BenchmarkCallback(b *testing.B) {
	for _, kid := range []string{"k1", "k2"} {
		b.Run(fixtureKeys()[kid].alg, func(b *testing.B) {
			e := newEnv(b)
			e.op.rotate(kid, "k1", "k2")
			if _, err := e.login("bench"); err != nil { // warms discovery and JWKS
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				cb := e.begin(e.rp, "bench")
				b.StartTimer()
				if _, err := e.finish(e.rp, cb, "bench"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkVerifyIDToken measures ID-token verification alone (header
// check, go-oidc's signature/issuer/audience/expiry checks with cached
// keys, nonce, azp, at_hash).
func BenchmarkVerifyIDToken(b *testing.B) {
	for _, kid := range []string{"k1", "k2"} {
		b.Run(fixtureKeys()[kid].alg, func(b *testing.B) {
			e := newEnv(b)
			e.op.rotate(kid, "k1", "k2")
			p, err := e.rp.provider(e.ctx)
			if err != nil {
				b.Fatal(err)
			}
			const nonce, access = "bench-nonce", "bench-access-token"
			raw := e.op.mint(nonce, access)
			if _, err := e.rp.verifyIDToken(e.ctx, p, raw, nonce, access); err != nil { // warms JWKS
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if _, err := e.rp.verifyIDToken(e.ctx, p, raw, nonce, access); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
