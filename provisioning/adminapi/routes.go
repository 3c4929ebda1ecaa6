package adminapi

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/rosterhq/roster/provisioning"
	"github.com/rosterhq/roster/repository"
)

// route is one operation of the API: how it is served and how it is
// documented. The OpenAPI document is built from this table and the Go
// types it names, so what is served and what is described cannot drift;
// a test compares the document with gin's routes.
type route struct {
	method string
	path   string // gin syntax, relative to the mount point: /members/:id
	op     string // OpenAPI operationId
	tag    string
	sum    string // one-line summary
	desc   string // more, when the summary is not enough
	// perms lists the permissions any one of which allows the call; a
	// route without perms must be public.
	perms  []string
	public bool
	query  []param
	body   any // zero value of the request type; nil when none
	status int // success status
	resp   any // zero value of the response type; nil when no body
	// etag: the response carries the resource's ETag and a write honours
	// If-Match (412 version_mismatch).
	etag bool
	// errs are the statuses this route answers besides the common ones
	// (400 for bad input, 401, 403, 404 for an unknown id, 413, 415).
	errs []int
	// csv: the body may also be text/csv (a member import).
	csv bool
	h   handler
}

// ifMatch reports whether the route honours If-Match: writes to an
// existing resource that has a version.
func (rt route) ifMatch() bool {
	return rt.etag && rt.method != http.MethodGet && strings.Contains(rt.path, ":")
}

// queryNames lists the route's query parameters.
func (rt route) queryNames() []string {
	names := make([]string, len(rt.query))
	for i, q := range rt.query {
		names[i] = q.name
	}
	return names
}

// param is a documented query parameter.
type param struct {
	name, typ, format, desc string
}

// Query parameters shared by routes.
var (
	pFilter     = param{"filter", "string", "", `SCIM filter (RFC 7644 §3.4.2.2) over the SCIM attribute names, e.g. userName sw "j" and roles eq "agent"`}
	pSortBy     = param{"sortBy", "string", "", "firstName, lastName, userName, displayName, createdAt, updatedAt, or a sortable SCIM attribute path"}
	pSortOrder  = param{"sortOrder", "string", "", "ascending (default) or descending"}
	pCount      = param{"count", "integer", "", "page size, 0 to 200 (default 50); 0 returns the total only"}
	pStartIndex = param{"startIndex", "integer", "", "1-based index of the first result; not with cursor"}
	pCursor     = param{"cursor", "string", "", "nextCursor of the previous page"}
	listQuery   = []param{pFilter, pSortBy, pSortOrder, pCount, pStartIndex, pCursor}
)

// Permission sets of the routes.
var (
	permTeam       = []string{provisioning.PermTeamManage}
	permTeamOrRole = []string{provisioning.PermRolesManage, provisioning.PermTeamManage}
	permRoles      = []string{provisioning.PermRolesManage}
	permSeatsRead  = []string{provisioning.PermSeatsManage, provisioning.PermTeamManage}
	permSeats      = []string{provisioning.PermSeatsManage}
	permViewAs     = []string{provisioning.PermTeamViewAs}
	permSCIM       = []string{provisioning.PermSCIMManage}
	permAudit      = []string{provisioning.PermAuditView}
	permInvite     = []string{provisioning.PermTeamInvite}
	permInviteRead = []string{provisioning.PermTeamInvite, provisioning.PermTeamManage}
	// Ownership is the owner's alone (provisioning refuses anyone else
	// with owner_only); the owner always holds administrator, so the
	// permission check only keeps non-admins out early.
	permOwnership = []string{provisioning.PermSettingsManage}
)

// routeTable lists every route of the API.
func (a *API) routeTable() []route {
	apiTokens := tokenRoutes{a: a, kind: repository.TokenAPI}
	scimTokens := tokenRoutes{a: a, kind: repository.TokenSCIM}
	return append([]route{
		{method: http.MethodGet, path: "/openapi.json", op: "getOpenAPI", tag: "Meta", public: true,
			sum: "This document (OpenAPI 3.1); no authentication", status: http.StatusOK, resp: openAPIDocument{},
			h: func(*gin.Context, *call) (*reply, error) { return ok(json.RawMessage(a.doc)), nil }},
		{method: http.MethodGet, path: "/permissions", op: "listPermissions", tag: "Roles", perms: permTeamOrRole,
			sum: "The permission catalogue roles are made of", status: http.StatusOK, resp: List[Permission]{}, h: a.listPermissions},

		{method: http.MethodGet, path: "/members", op: "listMembers", tag: "Members", perms: permTeam, query: listQuery,
			sum: "List members, with SCIM filters, sorting and paging", status: http.StatusOK, resp: Page[Member]{}, h: a.listMembers},
		{method: http.MethodPost, path: "/members", op: "createMember", tag: "Members", perms: permTeam,
			sum: "Create a member", desc: "The member is active at once, with an optional temporary password to change at the first login, or an activation email (sendActivationEmail) whose link lets the member choose a password. Seat rules apply: under the reject policy a seat-consuming role without a free seat is refused with seat_limit_reached; under queue the member waits for a seat. You may only grant roles and optional permissions whose permissions you hold (forbidden).",
			body: MemberInput{}, status: http.StatusCreated, resp: Member{}, etag: true, errs: []int{http.StatusConflict}, h: a.createMember},
		{method: http.MethodPost, path: "/members/import", op: "importMembers", tag: "Members", perms: permTeam, csv: true,
			query: []param{
				{"dryRun", "boolean", "", "validate every row and report what would happen, writing nothing"},
				{"atomic", "boolean", "", "all or nothing: import only if every row succeeds (needs a store with transactions)"},
			},
			sum: "Create members in bulk from CSV or JSON, with a result per row",
			desc: "The body is text/csv with a header row (columns: " + importColumns + "; lists separated by ;, booleans true/false) " +
				"or a JSON array of row objects. Each row is created (or invited when invite is true, which needs team.invite) through the same rules as a single create: " +
				"seats, grants, unique emails, team leaders (a member or another row). Without atomic a bad row is reported and the others are imported; " +
				"with dryRun nothing is written. At most 10,000 rows and 16 MiB.",
			body: []ImportRowInput{}, status: http.StatusOK, resp: ImportResult{}, h: a.importMembers},
		{method: http.MethodGet, path: "/members/:id", op: "getMember", tag: "Members", perms: permTeam,
			sum: "Get a member", status: http.StatusOK, resp: Member{}, etag: true, h: a.getMember},
		{method: http.MethodPatch, path: "/members/:id", op: "updateMember", tag: "Members", perms: permTeam,
			sum: "Change a member (JSON merge patch)", desc: "Fields left out stay, null clears, values replace (arrays whole, supportProfile field by field). Attributes the identity provider manages are refused with managed_by_idp; the owner keeps the administrator role (owner_protected). You may only give roles and optional permissions whose permissions you hold, your own included (forbidden).",
			body: MemberPatch{}, status: http.StatusOK, resp: Member{}, etag: true, errs: []int{http.StatusConflict}, h: a.patchMember},
		{method: http.MethodDelete, path: "/members/:id", op: "deleteMember", tag: "Members", perms: permTeam,
			sum: "Delete a member", desc: "Frees its seat and revokes its sessions and tokens. The owner cannot be deleted (owner_protected).",
			status: http.StatusNoContent, etag: true, h: a.deleteMember},
		{method: http.MethodPost, path: "/members/:id/deactivate", op: "deactivateMember", tag: "Members", perms: permTeam,
			sum: "Deactivate a member", desc: "Frees its seat and revokes its sessions and tokens. The owner cannot be deactivated (owner_protected); a member whose active flag the identity provider manages is refused with managed_by_idp.",
			status: http.StatusOK, resp: Member{}, etag: true, errs: []int{http.StatusConflict}, h: a.setActive(false)},
		{method: http.MethodPost, path: "/members/:id/reactivate", op: "reactivateMember", tag: "Members", perms: permTeam,
			sum: "Reactivate a member", desc: "Seat rules apply as for a new member.",
			status: http.StatusOK, resp: Member{}, etag: true, errs: []int{http.StatusConflict}, h: a.setActive(true)},
		{method: http.MethodGet, path: "/members/:id/permissions", op: "getMemberPermissions", tag: "Members", perms: permViewAs,
			sum: "A member's effective permissions (view as)", status: http.StatusOK, resp: EffectivePermissions{}, h: a.memberPermissions},
		{method: http.MethodGet, path: "/members/:id/reports", op: "getMemberReports", tag: "Members", perms: permTeam,
			sum: "The members a team leader leads, directly and indirectly", status: http.StatusOK, resp: Reports{}, h: a.memberReports},

		{method: http.MethodGet, path: "/roles", op: "listRoles", tag: "Roles", perms: permTeamOrRole,
			sum: "List the account's roles", status: http.StatusOK, resp: List[Role]{}, h: a.listRoles},
		{method: http.MethodPost, path: "/roles", op: "createRole", tag: "Roles", perms: permRoles,
			sum: "Create a custom role", desc: "You may only put in permissions you hold yourself (forbidden); answering conversations is exempt.", body: RoleInput{}, status: http.StatusCreated, resp: Role{}, etag: true,
			errs: []int{http.StatusConflict}, h: a.createRole},
		{method: http.MethodGet, path: "/roles/:key", op: "getRole", tag: "Roles", perms: permTeamOrRole,
			sum: "Get a role", status: http.StatusOK, resp: Role{}, etag: true, h: a.getRole},
		{method: http.MethodPatch, path: "/roles/:key", op: "updateRole", tag: "Roles", perms: permRoles,
			sum: "Change a role (JSON merge patch)", desc: "You may only add permissions you hold yourself, to your own roles too (forbidden); answering conversations is exempt.", body: RolePatch{}, status: http.StatusOK, resp: Role{}, etag: true,
			errs: []int{http.StatusConflict}, h: a.patchRole},
		{method: http.MethodDelete, path: "/roles/:key", op: "deleteRole", tag: "Roles", perms: permRoles,
			sum: "Delete a custom role", desc: "Refused, naming how many hold it, while members or group mappings hold the role.",
			status: http.StatusNoContent, etag: true, errs: []int{http.StatusConflict}, h: a.deleteRole},

		{method: http.MethodGet, path: "/groups", op: "listGroups", tag: "Groups", perms: permTeam, query: listQuery,
			sum: "List groups, with SCIM filters, sorting and paging", status: http.StatusOK, resp: Page[Group]{}, h: a.listGroups},
		{method: http.MethodPost, path: "/groups", op: "createGroup", tag: "Groups", perms: permTeam,
			sum: "Create a group", body: GroupInput{}, status: http.StatusCreated, resp: Group{}, etag: true,
			errs: []int{http.StatusConflict}, h: a.createGroup},
		{method: http.MethodGet, path: "/groups/:id", op: "getGroup", tag: "Groups", perms: permTeam,
			sum: "Get a group", status: http.StatusOK, resp: Group{}, etag: true, h: a.getGroup},
		{method: http.MethodPatch, path: "/groups/:id", op: "updateGroup", tag: "Groups", perms: permTeam,
			sum: "Rename a group (JSON merge patch)", desc: "Groups an identity provider manages are read-only here (409 managed_by_idp).",
			body: GroupPatch{}, status: http.StatusOK, resp: Group{}, etag: true, errs: []int{http.StatusConflict}, h: a.patchGroup},
		{method: http.MethodDelete, path: "/groups/:id", op: "deleteGroup", tag: "Groups", perms: permTeam,
			sum: "Delete a group; its members stay", desc: "Groups an identity provider manages are read-only here (409 managed_by_idp).",
			status: http.StatusNoContent, etag: true, errs: []int{http.StatusConflict}, h: a.deleteGroup},
		{method: http.MethodGet, path: "/groups/:id/members", op: "listGroupMembers", tag: "Groups", perms: permTeam,
			query: []param{{"count", "integer", "", "page size, 1 to 200 (default 50)"}, pCursor},
			sum:   "List a group's members in member id order", status: http.StatusOK, resp: GroupMembers{}, h: a.listGroupMembers},
		{method: http.MethodPost, path: "/groups/:id/members", op: "addGroupMembers", tag: "Groups", perms: permTeam,
			sum: "Add members to a group", desc: "Groups an identity provider manages are read-only here (409 managed_by_idp). Joining a group mapped to a role gives that role: you may only add members to it if you hold the role's permissions (forbidden).",
			body: GroupMembersInput{}, status: http.StatusOK, resp: Group{}, etag: true, errs: []int{http.StatusConflict}, h: a.addGroupMembers},
		{method: http.MethodDelete, path: "/groups/:id/members/:memberId", op: "removeGroupMember", tag: "Groups", perms: permTeam,
			sum: "Remove a member from a group", desc: "Removing a member who is not in the group succeeds. Groups an identity provider manages are read-only here (409 managed_by_idp).",
			status: http.StatusNoContent, etag: true, errs: []int{http.StatusConflict}, h: a.removeGroupMember},
		{method: http.MethodGet, path: "/groups/:id/role-mapping", op: "getGroupRoleMapping", tag: "Groups", perms: permTeamOrRole,
			sum: "The role a group's members hold while in it", status: http.StatusOK, resp: RoleMapping{}, etag: true, h: a.getRoleMapping},
		{method: http.MethodPut, path: "/groups/:id/role-mapping", op: "setGroupRoleMapping", tag: "Groups", perms: permRoles,
			sum: "Map a group to a role", desc: "Allowed on groups an identity provider manages: mapping IdP groups to roles is how roles follow IdP groups. You may only map to a role whose permissions you hold (forbidden).",
			body: RoleMappingInput{}, status: http.StatusOK, resp: RoleMapping{}, etag: true, errs: []int{http.StatusConflict}, h: a.putRoleMapping},
		{method: http.MethodDelete, path: "/groups/:id/role-mapping", op: "deleteGroupRoleMapping", tag: "Groups", perms: permRoles,
			sum: "Remove a group's role mapping", status: http.StatusNoContent, etag: true, errs: []int{http.StatusConflict}, h: a.deleteRoleMapping},

		{method: http.MethodGet, path: "/seats", op: "getSeats", tag: "Seats", perms: permSeatsRead,
			sum: "The seat policy and the seats bought, used, queued and available", status: http.StatusOK, resp: Seats{}, h: a.getSeats},
		{method: http.MethodPut, path: "/seats", op: "setSeats", tag: "Seats", perms: permSeats,
			sum: "Buy seats, change the policy or the exhaustion behaviour", desc: "Fields left out stay. Lowering total below the seats held is refused (seats_in_use); raising it gives queued agents their seats.",
			body: SeatsInput{}, status: http.StatusOK, resp: Seats{}, errs: []int{http.StatusConflict}, h: a.putSeats},

		{method: http.MethodGet, path: "/invitations", op: "listInvitations", tag: "Invitations", perms: permInviteRead,
			sum: "List pending invitations (not accepted, not revoked), newest first", desc: "Expired ones are listed with status expired: a resend or a fresh link revives them.",
			status: http.StatusOK, resp: List[Invitation]{}, h: a.listInvitations},
		{method: http.MethodPost, path: "/invitations", op: "createInvitation", tag: "Invitations", perms: permInvite,
			sum: "Invite a person by email", desc: "Creates the member in status invited and emails a single-use link (BASE_URL/invite/TOKEN) valid for the account's invitation TTL (7 days by default). " +
				"Seat rules apply as for a new member (seat_limit_reached under reject). You may only grant roles and optional permissions whose permissions you hold (forbidden). An email already used in the account is a conflict.",
			body: InvitationInput{}, status: http.StatusCreated, resp: Invitation{}, errs: []int{http.StatusConflict}, h: a.createInvitation},
		{method: http.MethodGet, path: "/invitations/:id", op: "getInvitation", tag: "Invitations", perms: permInviteRead,
			sum: "Get a pending invitation", status: http.StatusOK, resp: Invitation{}, errs: []int{http.StatusGone}, h: a.getInvitation},
		{method: http.MethodPost, path: "/invitations/:id/resend", op: "resendInvitation", tag: "Invitations", perms: permInvite,
			sum: "Email a new link; the old link stops working", desc: "The expiry starts again. At most once a minute and 5 emails a day per invitation (rate_limited). An accepted or revoked invitation is invitation_gone.",
			status: http.StatusOK, resp: Invitation{}, errs: []int{http.StatusGone, http.StatusTooManyRequests}, h: a.resendInvitation},
		{method: http.MethodPost, path: "/invitations/:id/link", op: "createInvitationLink", tag: "Invitations", perms: permInvite,
			sum: "Get a fresh link to pass on another way, without an email", desc: "The previous link stops working and the expiry starts again. The link is in this response only.",
			status: http.StatusOK, resp: InvitationLink{}, errs: []int{http.StatusGone}, h: a.invitationLink},
		{method: http.MethodDelete, path: "/invitations/:id", op: "revokeInvitation", tag: "Invitations", perms: permInvite,
			sum: "Revoke an invitation", desc: "The link stops working and the invited member is deleted, which frees its seat. An activation link only loses its link: the member stays. The owner's invitation cannot be revoked (owner_protected).",
			status: http.StatusNoContent, errs: []int{http.StatusGone}, h: a.revokeInvitation},

		{method: http.MethodPost, path: "/account/deletion", op: "requestAccountDeletion", tag: "Account", perms: permOwnership,
			sum: "Email the owner a code that confirms deleting the account", desc: "Owner only (owner_only). The 6-digit code works for 15 minutes and 5 attempts; a new request replaces it (at most one a minute, rate_limited).",
			status: http.StatusAccepted, resp: DeletionRequested{}, errs: []int{http.StatusTooManyRequests}, h: a.requestAccountDeletion},
		{method: http.MethodPost, path: "/account/deletion/confirm", op: "confirmAccountDeletion", tag: "Account", perms: permOwnership,
			sum: "Delete the account with the emailed code", desc: "Owner only (owner_only). Removes every record of the account; every token and session stops working; a minimal deletion record (name, time, reason) remains. " +
				"A wrong code is invalid_code (400) saying how many attempts are left; the fifth wrong code kills it (too_many_attempts, 429).",
			body: DeletionConfirmation{}, status: http.StatusOK, resp: AccountDeleted{}, errs: []int{http.StatusTooManyRequests}, h: a.confirmAccountDeletion},

		{method: http.MethodPost, path: "/ownership/transfer", op: "transferOwnership", tag: "Ownership", perms: permOwnership,
			sum: "Transfer the account's ownership", desc: "Only the owner may, to an active administrator (owner_only otherwise); the former owner stays an administrator.",
			body: OwnershipTransfer{}, status: http.StatusOK, resp: Ownership{}, h: a.transferOwnership},

		{method: http.MethodGet, path: "/api-tokens", op: "listAPITokens", tag: "API tokens", perms: permTeam,
			sum: "List the account's personal API tokens, with their last use", status: http.StatusOK, resp: List[Token]{}, h: apiTokens.list},
		{method: http.MethodPost, path: "/api-tokens", op: "createAPIToken", tag: "API tokens", perms: permTeam,
			sum: "Mint a personal API token for the caller", desc: "The token acts as the caller with the caller's permissions. Its secret is in this response only.",
			body: TokenRequest{}, status: http.StatusCreated, resp: IssuedToken{}, h: apiTokens.mint},
		{method: http.MethodDelete, path: "/api-tokens/:id", op: "revokeAPIToken", tag: "API tokens", perms: permTeam,
			sum: "Revoke an API token", desc: "Revoking a revoked token succeeds.", status: http.StatusNoContent, h: apiTokens.revoke},
		{method: http.MethodGet, path: "/scim-tokens", op: "listSCIMTokens", tag: "SCIM tokens", perms: permSCIM,
			sum: "List the account's SCIM tokens, with their last use", status: http.StatusOK, resp: List[Token]{}, h: scimTokens.list},
		{method: http.MethodPost, path: "/scim-tokens", op: "createSCIMToken", tag: "SCIM tokens", perms: permSCIM,
			sum: "Mint a SCIM token for an identity provider", desc: "Its secret is in this response only.",
			body: TokenRequest{}, status: http.StatusCreated, resp: IssuedToken{}, h: scimTokens.mint},
		{method: http.MethodDelete, path: "/scim-tokens/:id", op: "revokeSCIMToken", tag: "SCIM tokens", perms: permSCIM,
			sum: "Revoke a SCIM token", desc: "Revoking a revoked token succeeds.", status: http.StatusNoContent, h: scimTokens.revoke},

		{method: http.MethodGet, path: "/audit-events", op: "listAuditEvents", tag: "Audit", perms: permAudit,
			query: []param{
				{"action", "string", "", "only this action, e.g. member.update"},
				{"actor", "string", "", "only changes by this actor id (member or SCIM token)"},
				{"target", "string", "", "only changes of this target id"},
				{"since", "string", "date-time", "only events at or after this time (RFC 3339)"},
				{"until", "string", "date-time", "only events at or before this time (RFC 3339)"},
				{"count", "integer", "", "page size, 1 to 200 (default 50)"},
				pCursor,
			},
			sum: "List audit events, newest first", status: http.StatusOK, resp: Page[AuditEvent]{}, h: a.listAudit},
	}, a.ssoRoutes()...)
}
