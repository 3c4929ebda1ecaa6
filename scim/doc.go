// Package scim is Roster's SCIM 2.0 service provider (RFC 7643, RFC 7644)
// for the identity providers of an account: Okta, Microsoft Entra ID and
// others push team members (Users) and agent groups (Groups) through it.
//
//	srv, err := scim.New(svc, scim.Options{BaseURL: "https://roster.example.com/scim/v2"})
//	srv.Mount(engine.Group("/scim/v2"))
//
// A request is authenticated by the account's SCIM token (Authorization:
// Bearer), which decides the account: every read and write is scoped to
// it. The package translates SCIM JSON, filters and PATCH operations into
// provisioning calls and repository queries; the rules (uniqueness, roles,
// team hierarchy, audit) live in package provisioning, filters and paths
// are parsed by scim/filter and run in the store.
//
// # What comes from elimity-com/scim, and what does not
//
// From github.com/elimity-com/scim (v0.0.0-20240320110924-172bf2aee9c8)
// only the schema package is used: the definitions of the core User and
// Group schemas and of the enterprise User extension (the core User
// trimmed to the attributes Roster stores), its builders for the Roster
// extension and the ServiceProviderConfig schema, and its rendering of
// schema documents for /Schemas. The attribute catalogue the request
// readers use (names, types, mutability) is derived from those same
// definitions, so what is advertised and what is accepted cannot drift.
//
// Everything else is written here, because that version's server cannot
// do what the IdPs and RFC 7644 need: it sends no Location header, has no
// POST /.search, no /Bulk, no ETags or If-Match/If-None-Match, cannot
// answer count=0 with totals only, cannot push attributes or
// excludedAttributes down to the store (a group's members would always be
// loaded), and its validation refuses shapes real clients send (booleans
// as "False", a manager as a plain id, dotted keys in a PATCH value,
// Entra's extra Group schema URN); its string leniency is a package-level
// switch (global mutable state). It also gives PATCH no path to the
// store's membership edges, which a 100,000-member group needs. So the
// HTTP layer is a small handler set of our own: one catch-all route
// (Mount) or http.Handler (Handler), one dispatcher shared by HTTP and
// Bulk, and one error writer.
//
// # Behaviour worth knowing
//
//   - Every failure is a SCIM error body (urn:...:Error) with the HTTP
//     status and scimType; responses are application/scim+json.
//   - Requests may be application/scim+json or application/json. Bodies
//     over MaxPayloadBytes get 413. Each token is rate limited by a token
//     bucket in this process (429 with Retry-After); with several
//     instances the limit applies per instance.
//   - meta.version and the ETag header are W/"<version>"; If-Match is
//     honoured by PUT, PATCH and DELETE (412 on mismatch), If-None-Match by
//     GET (304).
//   - Read-only attributes in requests (id, meta, groups, seatStatus) are
//     ignored. "password" is stored as a bcrypt hash and never returned.
//   - PUT replaces the attributes it sends; an attribute it leaves out is
//     cleared if the IdP had set it before (it is IdP-managed) and kept
//     otherwise, so roles or a support profile assigned in the app survive
//     an IdP's PUT that does not mention them.
//   - PATCH on a User applies every operation to the user's JSON and
//     writes once. PATCH on a Group sends member additions and removals
//     straight to the membership edges (their cost does not depend on the
//     group's size) and answers 204 unless attributes are requested.
//   - PUT on a Group replaces its attributes and makes the listed members
//     its exact membership (a PUT without "members" empties the group).
//   - GET with excludedAttributes=members never reads a group's members.
//   - Member references must be members of the token's account; unknown
//     or foreign ids are a 400 invalidValue and nothing changes. Removing
//     an id that is not a member is not an error (idempotent deprovisioning).
//   - Lists: count is capped at MaxResults (default 1000); count=0 returns
//     totals only. POST /.search at the root lists Users then Groups.
//   - /Me answers 501.
//   - Every change is audited by provisioning with the token as actor and
//     the request id (X-Request-Id: the one a middleware in front set, else
//     the caller's, else a new one).
package scim
