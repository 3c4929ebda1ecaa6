package sqlite

import "github.com/rosterhq/roster/repository"

// The column maps of the record tables (see migrations/0001_init.sql).

var fixedCols = map[string]bool{"account_id": true, "id": true, "created_at": true}

var accountTable = &table[repository.Account]{
	name:  "accounts",
	fixed: map[string]bool{"id": true, "created_at": true},
	cols: []column[repository.Account]{
		{"id", cText, func(a *repository.Account) any { return &a.ID }},
		{"name", cText, func(a *repository.Account) any { return &a.Name }},
		{"name_lc", cLower, func(a *repository.Account) any { return &a.Name }},
		{"owner_member_id", cText, func(a *repository.Account) any { return &a.OwnerMemberID }},
		{"status", cText, func(a *repository.Account) any { return &a.Status }},
		{"seat_policy", cText, func(a *repository.Account) any { return &a.Seats.Policy }},
		{"seat_total", cInt, func(a *repository.Account) any { return &a.Seats.Total }},
		{"seat_exhaustion", cText, func(a *repository.Account) any { return &a.Seats.Exhaustion }},
		{"invitation_ttl", cDur, func(a *repository.Account) any { return &a.Settings.InvitationTTL }},
		{"default_role_key", cText, func(a *repository.Account) any { return &a.Settings.DefaultRoleKey }},
		{"profile_guidelines", cText, func(a *repository.Account) any { return &a.Settings.ProfileGuidelines }},
		{"allow_email_linking", cBool, func(a *repository.Account) any { return &a.Settings.AllowEmailLinking }},
		{"version", cInt64, func(a *repository.Account) any { return &a.Version }},
		{"created_at", cTime, func(a *repository.Account) any { return &a.CreatedAt }},
		{"updated_at", cTime, func(a *repository.Account) any { return &a.UpdatedAt }},
	},
}

type member = repository.Member

var memberTable = &table[member]{
	name:  "members",
	fixed: fixedCols,
	cols: []column[member]{
		{"account_id", cText, func(m *member) any { return &m.AccountID }},
		{"id", cText, func(m *member) any { return &m.ID }},
		{"user_name", cText, func(m *member) any { return &m.UserName }},
		{"user_name_lc", cLower, func(m *member) any { return &m.UserName }},
		{"external_id", cText, func(m *member) any { return &m.ExternalID }},
		{"formatted_name", cText, func(m *member) any { return &m.Name.Formatted }},
		{"formatted_name_lc", cLower, func(m *member) any { return &m.Name.Formatted }},
		{"family_name", cText, func(m *member) any { return &m.Name.FamilyName }},
		{"family_name_lc", cLower, func(m *member) any { return &m.Name.FamilyName }},
		{"given_name", cText, func(m *member) any { return &m.Name.GivenName }},
		{"given_name_lc", cLower, func(m *member) any { return &m.Name.GivenName }},
		{"middle_name", cText, func(m *member) any { return &m.Name.MiddleName }},
		{"honorific_prefix", cText, func(m *member) any { return &m.Name.HonorificPrefix }},
		{"honorific_suffix", cText, func(m *member) any { return &m.Name.HonorificSuffix }},
		{"display_name", cText, func(m *member) any { return &m.DisplayName }},
		{"display_name_lc", cLower, func(m *member) any { return &m.DisplayName }},
		{"nick_name", cText, func(m *member) any { return &m.NickName }},
		{"nick_name_lc", cLower, func(m *member) any { return &m.NickName }},
		{"profile_url", cText, func(m *member) any { return &m.ProfileURL }},
		{"title", cText, func(m *member) any { return &m.Title }},
		{"title_lc", cLower, func(m *member) any { return &m.Title }},
		{"user_type", cText, func(m *member) any { return &m.UserType }},
		{"user_type_lc", cLower, func(m *member) any { return &m.UserType }},
		{"preferred_language", cText, func(m *member) any { return &m.PreferredLanguage }},
		{"preferred_language_lc", cLower, func(m *member) any { return &m.PreferredLanguage }},
		{"locale", cText, func(m *member) any { return &m.Locale }},
		{"locale_lc", cLower, func(m *member) any { return &m.Locale }},
		{"timezone", cText, func(m *member) any { return &m.Timezone }},
		{"timezone_lc", cLower, func(m *member) any { return &m.Timezone }},
		{"active", cBool, func(m *member) any { return &m.Active }},
		{"status", cText, func(m *member) any { return &m.Status }},
		{"status_lc", cLower, func(m *member) any { return &m.Status }},
		{"source", cText, func(m *member) any { return &m.Source }},
		{"source_lc", cLower, func(m *member) any { return &m.Source }},
		{"employee_number", cText, func(m *member) any { return &m.EmployeeNumber }},
		{"employee_number_lc", cLower, func(m *member) any { return &m.EmployeeNumber }},
		{"cost_center", cText, func(m *member) any { return &m.CostCenter }},
		{"cost_center_lc", cLower, func(m *member) any { return &m.CostCenter }},
		{"organization", cText, func(m *member) any { return &m.Organization }},
		{"organization_lc", cLower, func(m *member) any { return &m.Organization }},
		{"division", cText, func(m *member) any { return &m.Division }},
		{"division_lc", cLower, func(m *member) any { return &m.Division }},
		{"department", cText, func(m *member) any { return &m.Department }},
		{"department_lc", cLower, func(m *member) any { return &m.Department }},
		{"manager_id", cText, func(m *member) any { return &m.ManagerID }},
		{"pending_manager_ref", cText, func(m *member) any { return &m.PendingManagerRef }},
		{"only_assign_from_expertise", cBool, func(m *member) any { return &m.Profile.OnlyAssignFromExpertise }},
		{"only_assigned_conversations", cBool, func(m *member) any { return &m.Profile.OnlyAssignedConversations }},
		{"can_view_group_companies", cBool, func(m *member) any { return &m.Profile.CanViewGroupCompanies }},
		{"external_sso", cBool, func(m *member) any { return &m.Profile.ExternalSSO }},
		{"can_manage_teams", cBool, func(m *member) any { return &m.Profile.CanManageTeams }},
		{"employment_status", cText, func(m *member) any { return &m.Profile.EmploymentStatus }},
		{"employment_status_lc", cLower, func(m *member) any { return &m.Profile.EmploymentStatus }},
		{"start_date", cText, func(m *member) any { return &m.Profile.StartDate }},
		{"bio", cText, func(m *member) any { return &m.Profile.Bio }},
		{"image_url", cText, func(m *member) any { return &m.Profile.ImageURL }},
		{"hometown", cText, func(m *member) any { return &m.Profile.Hometown }},
		{"state_or_country", cText, func(m *member) any { return &m.Profile.StateOrCountry }},
		{"approval_status", cText, func(m *member) any { return &m.Profile.ApprovalStatus }},
		{"seat_status", cText, func(m *member) any { return &m.SeatStatus }},
		{"seat_status_lc", cLower, func(m *member) any { return &m.SeatStatus }},
		{"seat_queued_at", cTime, func(m *member) any { return &m.SeatQueuedAt }},
		{"password_hash", cText, func(m *member) any { return &m.PasswordHash }},
		{"must_change_password", cBool, func(m *member) any { return &m.MustChangePassword }},
		{"version", cInt64, func(m *member) any { return &m.Version }},
		{"created_at", cTime, func(m *member) any { return &m.CreatedAt }},
		{"updated_at", cTime, func(m *member) any { return &m.UpdatedAt }},
	},
}

var groupTable = &table[repository.Group]{
	name:  "groups",
	fixed: fixedCols,
	cols: []column[repository.Group]{
		{"account_id", cText, func(g *repository.Group) any { return &g.AccountID }},
		{"id", cText, func(g *repository.Group) any { return &g.ID }},
		{"display_name", cText, func(g *repository.Group) any { return &g.DisplayName }},
		{"display_name_lc", cLower, func(g *repository.Group) any { return &g.DisplayName }},
		{"external_id", cText, func(g *repository.Group) any { return &g.ExternalID }},
		{"role_key", cText, func(g *repository.Group) any { return &g.RoleKey }},
		{"role_key_lc", cLower, func(g *repository.Group) any { return &g.RoleKey }},
		{"source", cText, func(g *repository.Group) any { return &g.Source }},
		{"version", cInt64, func(g *repository.Group) any { return &g.Version }},
		{"created_at", cTime, func(g *repository.Group) any { return &g.CreatedAt }},
		{"updated_at", cTime, func(g *repository.Group) any { return &g.UpdatedAt }},
	},
}

var roleTable = &table[repository.Role]{
	name:  "roles",
	fixed: map[string]bool{"account_id": true, "role_key": true, "role_key_lc": true, "created_at": true},
	cols: []column[repository.Role]{
		{"account_id", cText, func(r *repository.Role) any { return &r.AccountID }},
		{"role_key", cText, func(r *repository.Role) any { return &r.Key }},
		{"role_key_lc", cLower, func(r *repository.Role) any { return &r.Key }},
		{"display_name", cText, func(r *repository.Role) any { return &r.DisplayName }},
		{"description", cText, func(r *repository.Role) any { return &r.Description }},
		{"consumes_seat", cBool, func(r *repository.Role) any { return &r.ConsumesSeat }},
		{"built_in", cBool, func(r *repository.Role) any { return &r.BuiltIn }},
		{"version", cInt64, func(r *repository.Role) any { return &r.Version }},
		{"created_at", cTime, func(r *repository.Role) any { return &r.CreatedAt }},
		{"updated_at", cTime, func(r *repository.Role) any { return &r.UpdatedAt }},
	},
}

var invitationTable = &table[repository.Invitation]{
	name:  "invitations",
	fixed: fixedCols,
	cols: []column[repository.Invitation]{
		{"account_id", cText, func(i *repository.Invitation) any { return &i.AccountID }},
		{"id", cText, func(i *repository.Invitation) any { return &i.ID }},
		{"member_id", cText, func(i *repository.Invitation) any { return &i.MemberID }},
		{"token_hash", cText, func(i *repository.Invitation) any { return &i.TokenHash }},
		{"invited_by", cText, func(i *repository.Invitation) any { return &i.InvitedBy }},
		{"expires_at", cTime, func(i *repository.Invitation) any { return &i.ExpiresAt }},
		{"sent_at", cTime, func(i *repository.Invitation) any { return &i.SentAt }},
		{"accepted_at", cTime, func(i *repository.Invitation) any { return &i.AcceptedAt }},
		{"revoked_at", cTime, func(i *repository.Invitation) any { return &i.RevokedAt }},
		{"version", cInt64, func(i *repository.Invitation) any { return &i.Version }},
		{"created_at", cTime, func(i *repository.Invitation) any { return &i.CreatedAt }},
		{"updated_at", cTime, func(i *repository.Invitation) any { return &i.UpdatedAt }},
	},
}

var tokenTable = &table[repository.Token]{
	name:  "tokens",
	fixed: fixedCols,
	cols: []column[repository.Token]{
		{"account_id", cText, func(t *repository.Token) any { return &t.AccountID }},
		{"id", cText, func(t *repository.Token) any { return &t.ID }},
		{"kind", cText, func(t *repository.Token) any { return &t.Kind }},
		{"name", cText, func(t *repository.Token) any { return &t.Name }},
		{"member_id", cText, func(t *repository.Token) any { return &t.MemberID }},
		{"hash", cText, func(t *repository.Token) any { return &t.Hash }},
		{"created_at", cTime, func(t *repository.Token) any { return &t.CreatedAt }},
		{"expires_at", cTime, func(t *repository.Token) any { return &t.ExpiresAt }},
		{"last_used_at", cTime, func(t *repository.Token) any { return &t.LastUsedAt }},
		{"revoked_at", cTime, func(t *repository.Token) any { return &t.RevokedAt }},
	},
}

var sessionTable = &table[repository.Session]{
	name:  "sessions",
	fixed: fixedCols,
	cols: []column[repository.Session]{
		{"account_id", cText, func(s *repository.Session) any { return &s.AccountID }},
		{"id", cText, func(s *repository.Session) any { return &s.ID }},
		{"member_id", cText, func(s *repository.Session) any { return &s.MemberID }},
		{"hash", cText, func(s *repository.Session) any { return &s.Hash }},
		{"connection_id", cText, func(s *repository.Session) any { return &s.ConnectionID }},
		{"agent_seat", cBool, func(s *repository.Session) any { return &s.AgentSeat }},
		{"created_at", cTime, func(s *repository.Session) any { return &s.CreatedAt }},
		{"expires_at", cTime, func(s *repository.Session) any { return &s.ExpiresAt }},
		{"last_seen_at", cTime, func(s *repository.Session) any { return &s.LastSeenAt }},
		{"revoked_at", cTime, func(s *repository.Session) any { return &s.RevokedAt }},
	},
}

var ssoTable = &table[repository.SSOConnection]{
	name:  "sso_connections",
	fixed: fixedCols,
	cols: []column[repository.SSOConnection]{
		{"account_id", cText, func(c *repository.SSOConnection) any { return &c.AccountID }},
		{"id", cText, func(c *repository.SSOConnection) any { return &c.ID }},
		{"kind", cText, func(c *repository.SSOConnection) any { return &c.Kind }},
		{"name", cText, func(c *repository.SSOConnection) any { return &c.Name }},
		{"enabled", cBool, func(c *repository.SSOConnection) any { return &c.Enabled }},
		{"config", cBlob, func(c *repository.SSOConnection) any { return &c.Config }},
		{"version", cInt64, func(c *repository.SSOConnection) any { return &c.Version }},
		{"created_at", cTime, func(c *repository.SSOConnection) any { return &c.CreatedAt }},
		{"updated_at", cTime, func(c *repository.SSOConnection) any { return &c.UpdatedAt }},
	},
}

var auditTable = &table[repository.AuditEvent]{
	name:  "audit_events",
	fixed: fixedCols,
	cols: []column[repository.AuditEvent]{
		{"account_id", cText, func(e *repository.AuditEvent) any { return &e.AccountID }},
		{"id", cText, func(e *repository.AuditEvent) any { return &e.ID }},
		{"event_time", cTime, func(e *repository.AuditEvent) any { return &e.Time }},
		{"actor_kind", cText, func(e *repository.AuditEvent) any { return &e.ActorKind }},
		{"actor_id", cText, func(e *repository.AuditEvent) any { return &e.ActorID }},
		{"action_name", cText, func(e *repository.AuditEvent) any { return &e.Action }},
		{"target_kind", cText, func(e *repository.AuditEvent) any { return &e.TargetKind }},
		{"target_id", cText, func(e *repository.AuditEvent) any { return &e.TargetID }},
		{"diff", cBlob, func(e *repository.AuditEvent) any { return &e.Diff }},
		{"request_id", cText, func(e *repository.AuditEvent) any { return &e.RequestID }},
	},
}

var outboxTable = &table[repository.OutboxMessage]{
	name:  "outbox",
	fixed: fixedCols,
	cols: []column[repository.OutboxMessage]{
		{"account_id", cText, func(m *repository.OutboxMessage) any { return &m.AccountID }},
		{"id", cText, func(m *repository.OutboxMessage) any { return &m.ID }},
		{"to_addr", cText, func(m *repository.OutboxMessage) any { return &m.To }},
		{"subject", cText, func(m *repository.OutboxMessage) any { return &m.Subject }},
		{"text_body", cText, func(m *repository.OutboxMessage) any { return &m.Text }},
		{"html_body", cText, func(m *repository.OutboxMessage) any { return &m.HTML }},
		{"created_at", cTime, func(m *repository.OutboxMessage) any { return &m.CreatedAt }},
		{"attempts", cInt, func(m *repository.OutboxMessage) any { return &m.Attempts }},
		{"next_attempt_at", cTime, func(m *repository.OutboxMessage) any { return &m.NextAttemptAt }},
		{"last_error", cText, func(m *repository.OutboxMessage) any { return &m.LastError }},
		{"sent_at", cTime, func(m *repository.OutboxMessage) any { return &m.SentAt }},
	},
}
