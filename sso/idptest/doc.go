// Package idptest runs independently written identity providers for tests,
// so the SSO bridge is tested end to end against real implementations and
// not only against our own code:
//
//   - StartOIDC runs the npm package oidc-provider (OpenID Certified):
//     discovery, authorization code with PKCE (required, S256), ID tokens
//     signed RS256, userinfo, key rotation on demand.
//   - StartSAML runs a SAML 2.0 IdP built on the npm package samlify:
//     metadata, AuthnRequests by HTTP-Redirect (signed or not) and HTTP-POST,
//     signed responses (RSA-SHA256) sent by the HTTP-POST binding, encrypted
//     assertions, IdP-initiated logins.
//
// Both are small Node.js programs in tools/idp. Logins are not interactive:
// the IdP logs in a test user chosen by the test (LoginAs, a login_hint, the
// SAML "user" query parameter, or the configured default) and answers at
// once, so a Browser — an http.Client with a cookie jar that follows
// redirects and submits auto-posting forms — drives a whole login.
//
// Import this package from _test.go files only. It needs Node.js 20+ and
// `npm ci --prefix tools/idp`; without them the tests using it are skipped,
// or fail when CI=true, so CI never passes by skipping them. Each Start
// call starts one node process for the test and stops it at the test's end.
//
// An OIDC login against the provider, with the relying party under test
// mounted on an httptest.Server:
//
//	func TestOIDCLogin(t *testing.T) {
//		srv := httptest.NewServer(bridge)               // the RP under test
//		idp := idptest.StartOIDC(t, idptest.OIDCConfig{
//			RedirectURIs: []string{srv.URL + "/sso/oidc/c1/callback"},
//		})
//		// configure the connection: idp.Issuer, idp.ClientID, idp.ClientSecret
//		idp.LoginAs(t, "bob")                           // or the default, alice
//		b := idptest.NewBrowser(t)
//		page := b.Visit(srv.URL + "/sso/login?email=bob@example.com&return_to=/auth/session")
//		// page is where the RP finally sent the browser (page.URL,
//		// page.StatusCode, page.Body); b.Client.Jar holds its cookies.
//		idp.RotateKeys(t)                               // new signing key, new kid
//	}
//
// A SAML login, the IdP reading the SP's metadata:
//
//	func TestSAMLLogin(t *testing.T) {
//		srv := httptest.NewServer(bridge)
//		idp := idptest.StartSAML(t, idptest.SAMLConfig{EncryptAssertions: true})
//		// configure the connection with idp.MetadataURL (or idp.Metadata(t))
//		b := idptest.NewBrowser(t)
//		idp.RegisterSP(t, b.Get(srv.URL+"/sso/saml/c1/metadata").Body)
//		page := b.Visit(srv.URL + "/sso/saml/c1/start?return_to=/app")
//		// IdP-initiated: b.Visit(idp.IdPInitiatedURL(spEntityID, "", "/app"))
//		_ = page
//	}
//
// To inspect or replay what an IdP posts, use Browser.Get instead of Visit,
// then Page.Form and Browser.Submit (as often as wanted).
package idptest
