// Package adminapi is Roster's admin API: JSON over HTTP for the admins
// and scripts of an account, mounted at /api/v1.
//
//	api, err := adminapi.New(svc, adminapi.Options{Logger: logger})
//	api.Mount(engine.Group("/api/v1"))
//
// It covers members (list with SCIM filters, create — with a temporary
// password or an activation email —, bulk import from CSV or JSON,
// merge-patch, deactivate, reactivate, delete, effective permissions,
// reports), invitations (invite, list, resend, fresh link, revoke), roles,
// the permission catalogue, groups and their role mappings, seats,
// ownership transfer, account deletion (owner only, confirmed with an
// emailed code), personal API tokens, SCIM tokens, the audit log, SSO
// connections (through Options.Connections, which sso/connections
// implements) and "view as" tokens (POST /members/{id}/impersonation,
// through Options.AccessTokens). The pages invitation links open are
// package provisioning/invitepage.
// GET /api/v1/openapi.json (public) describes every route; the document is
// built from the route table and the request and response types, and a
// test checks it against gin's routes.
//
// # Authentication and authorization
//
// A request carries a personal API token, "Authorization: Bearer
// rst_api_...": the one "roster account create" prints for the owner, or
// one minted with POST /api-tokens (always for the caller). Browser
// sessions come through Options.Sessions. With Options.AccessTokens, a
// signed access token of the SSO bridge (a JWT: three dot-separated parts,
// where API tokens start with rst_) is accepted too; a read-only one (a
// "view as" token) is refused every write. The token's member must be
// active. Every route names the permissions (any
// one is enough) it needs, checked with provisioning's Authorize; the
// caller's account bounds every read and write, so an id of another
// account is a 404, exactly like an id that does not exist.
//
// # Errors
//
// Every failure is an RFC 9457 problem (application/problem+json) with a
// stable code, written by one error writer (toProblem, writeProblem) that
// maps provisioning's codes to statuses:
//
//	invalid_value, invalid_query, invalid_json,
//	unknown_field, invalid_type, read_only,
//	invalid_code                                  400
//	unauthenticated                               401 + WWW-Authenticate
//	forbidden, owner_protected, owner_only,
//	sso_required                                  403
//	not_found                                     404
//	conflict, seat_limit_reached, seats_in_use,
//	managed_by_idp                                409
//	invitation_gone                               410
//	version_mismatch                              412
//	payload_too_large                             413
//	unsupported_media_type                        415
//	rate_limited, too_many_attempts               429
//	internal_error                                500 (details only in the log)
//	unavailable                                   503
//
// seat_limit_reached and managed_by_idp are 409 (the same request can
// succeed once seats are bought or the identity provider lets go of the
// attribute); owner protection is 403. The SCIM door answers 403 for all
// three, as RFC 7644 has nothing closer.
//
// # Requests
//
// Bodies are JSON objects of at most 1 MiB (413 beyond). A field the
// endpoint does not take is a 400 unknown_field naming it (exact case:
// "FirstName" is refused with a hint), a field of the wrong JSON type a
// 400 invalid_type naming its path (emails[1].value), and a field of the
// resource that cannot be set here (id, status, seatStatus, ...) a 400
// read_only. PATCH bodies are JSON merge patches (RFC 7396). Member, role
// and group responses carry ETag W/"<version>" (as the SCIM door writes
// it); If-Match on their writes makes them conditional (412). Unknown query
// parameters are refused too.
//
// Every change is made through package provisioning with the caller as
// actor and the request id (X-Request-Id, as cmd/roster's middleware set
// it) in the audit event, so the admin API applies exactly the rules SCIM
// and SSO do.
package adminapi
