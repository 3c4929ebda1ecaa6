package provisioning

import (
	"slices"
	"strings"

	"github.com/rosterhq/roster/repository"
)

// The permission catalogue. Permissions are what the platform checks; roles
// are named bundles of them. The list comes from the help articles in
// shared/seeds (Jetlink, Jivo, a bot studio, a conversational-commerce
// platform, Agent Connect): every capability a role there is described with
// is one permission here.
const (
	// PermConversationsAnswer is the agent capability: answering customer
	// conversations. A role granting it consumes an agent seat.
	PermConversationsAnswer   = "conversations.answer"
	PermConversationsViewAll  = "conversations.view_all"
	PermConversationsAssign   = "conversations.assign"
	PermConversationsTransfer = "conversations.transfer"
	PermConversationsDispense = "conversations.dispense"
	PermTemplatesManage       = "templates.manage"
	PermCatalogsSend          = "catalogs.send"
	PermMonitoringView        = "monitoring.view"

	PermReportsView          = "reports.view"
	PermReportsExport        = "reports.export"
	PermReportsConversations = "reports.conversations"
	PermReportsPayments      = "reports.payments"

	PermOrdersView        = "orders.view"
	PermOrdersManage      = "orders.manage"
	PermOrdersIndependent = "orders.independent"
	PermPaymentsReconcile = "payments.reconcile"

	PermBotsTrain          = "bots.train"
	PermContentManage      = "content.manage"
	PermAnalyticsView      = "analytics.view"
	PermCRMView            = "crm.view"
	PermCRMManage          = "crm.manage"
	PermDeveloperConfigure = "developer.configure"

	PermTeamInvite     = "team.invite"
	PermTeamManage     = "team.manage"
	PermTeamViewAs     = "team.view_as"
	PermRolesManage    = "roles.manage"
	PermSeatsManage    = "seats.manage"
	PermSettingsManage = "settings.manage"
	PermAuditView      = "audit.view"
	PermSSOManage      = "sso.manage"
	PermSCIMManage     = "scim.manage"
	PermAccountDelete  = "account.delete"
)

// PermissionInfo describes one permission of the catalogue.
type PermissionInfo struct {
	Key         string
	Description string
}

// Permissions returns the permission catalogue in a stable order. The slice
// is new on every call; callers may keep or change it.
func Permissions() []PermissionInfo {
	return []PermissionInfo{
		{PermConversationsAnswer, "Answer customer conversations (chats, calls, emails): the agent capability, which uses an agent seat"},
		{PermConversationsViewAll, "View every team member's conversations and their history, not only those assigned to oneself"},
		{PermConversationsAssign, "Assign and close other team members' conversations"},
		{PermConversationsTransfer, "Transfer one's conversations to other colleagues"},
		{PermConversationsDispense, "Self-assign waiting conversations from the conversation dispenser"},
		{PermTemplatesManage, "Manage conversation tags and message templates"},
		{PermCatalogsSend, "Send product catalogs to customers in a conversation"},
		{PermMonitoringView, "Use the monitoring dashboard: conversations and orders handled by each agent"},
		{PermReportsView, "View reports"},
		{PermReportsExport, "Download and export reports"},
		{PermReportsConversations, "Generate, filter and export conversation reports"},
		{PermReportsPayments, "Generate, filter and export payment reports"},
		{PermOrdersView, "View orders and work on the orders of one's conversations"},
		{PermOrdersManage, "Create, cancel, delete and comment on orders from the orders section"},
		{PermOrdersIndependent, "Create, cancel, delete and comment on orders without a conversation"},
		{PermPaymentsReconcile, "Reconcile orders, reject payments, reopen rejected orders and comment on them"},
		{PermBotsTrain, "Access and train the bot's content"},
		{PermContentManage, "Use the content management system"},
		{PermAnalyticsView, "View analytics (read-only)"},
		{PermCRMView, "View customer contacts and CRM records (read-only)"},
		{PermCRMManage, "Edit customer contact information and CRM records"},
		{PermDeveloperConfigure, "Develop and configure bots and integrations"},
		{PermTeamInvite, "Invite new team members"},
		{PermTeamManage, "Edit, deactivate and delete team members and change their roles"},
		{PermTeamViewAs, "See a team member's effective permissions and view the app as them (read-only)"},
		{PermRolesManage, "Create, change and delete the account's roles"},
		{PermSeatsManage, "Buy agent seats and change the seat policy"},
		{PermSettingsManage, "Change the account settings"},
		{PermAuditView, "Read the audit log"},
		{PermSSOManage, "Configure SSO connections (SAML, OpenID Connect)"},
		{PermSCIMManage, "Issue and revoke SCIM tokens for identity providers"},
		{PermAccountDelete, "Delete the whole account; only the owner may use it, even when granted"},
	}
}

// IsPermission reports whether key is in the catalogue.
func IsPermission(key string) bool {
	for _, p := range Permissions() {
		if p.Key == key {
			return true
		}
	}
	return false
}

// Keys of the built-in roles.
const (
	RoleAdministrator     = "administrator"
	RoleAgent             = "agent"
	RoleSupervisor        = "supervisor"
	RoleReporter          = "reporter"
	RoleBotTrainer        = "bot_trainer"
	RoleContentManager    = "content_manager"
	RoleAnalyst           = "analyst"
	RoleDeveloper         = "developer"
	RoleOrderPaymentAdmin = "order_payment_admin"
	RoleStakeholder       = "stakeholder"
)

// BuiltInRoles returns the role templates seeded into every new account,
// ordered by key, with AccountID set. ConsumesSeat is derived, never typed:
// a role consumes an agent seat exactly when its permissions grant
// PermConversationsAnswer. No optional permission grants it, so optional
// grants never change who needs a seat.
//
// Decisions taken from the seeds:
//   - administrator has every permission except answering conversations: an
//     "administrator without agent rights" is a normal combination (Jivo),
//     and an admin who also answers holds administrator and agent.
//   - supervisor views, assigns and closes other people's conversations but
//     is not described as answering them, so it uses no seat; a supervisor
//     who answers also holds agent.
//   - stakeholder "views and manages conversations", so it answers them and
//     uses a seat.
func BuiltInRoles(accountID string) []repository.Role {
	admin := make([]string, 0, 32)
	for _, p := range Permissions() {
		if p.Key != PermConversationsAnswer {
			admin = append(admin, p.Key)
		}
	}
	roles := []repository.Role{
		{
			Key: RoleAdministrator, DisplayName: "Administrator",
			Description: "Full access to the account: settings, reports, orders, the team, roles and seats.",
			Permissions: admin,
		},
		{
			Key: RoleAgent, DisplayName: "Agent",
			Description:         "Answers customer conversations and works with their orders, tags, templates and reports.",
			Permissions:         []string{PermConversationsAnswer, PermTemplatesManage, PermOrdersView, PermReportsView, PermCRMView},
			OptionalPermissions: []string{PermConversationsDispense, PermConversationsTransfer, PermOrdersIndependent},
		},
		{
			Key: RoleSupervisor, DisplayName: "Supervisor",
			Description: "Views, assigns and closes other members' conversations, edits customer contacts and sends catalogs.",
			Permissions: []string{PermConversationsViewAll, PermConversationsAssign, PermCRMView, PermCRMManage, PermCatalogsSend},
			OptionalPermissions: []string{PermOrdersManage, PermPaymentsReconcile, PermOrdersIndependent,
				PermReportsConversations, PermReportsPayments},
		},
		{
			Key: RoleReporter, DisplayName: "Reporter",
			Description: "Views reports and downloads them.",
			Permissions: []string{PermReportsView, PermReportsExport},
		},
		{
			Key: RoleBotTrainer, DisplayName: "Bot trainer",
			Description: "Accesses and trains the bot's content.",
			Permissions: []string{PermBotsTrain},
		},
		{
			Key: RoleContentManager, DisplayName: "Content manager",
			Description: "Uses the content management system.",
			Permissions: []string{PermContentManage},
		},
		{
			Key: RoleAnalyst, DisplayName: "Analyst",
			Description: "Reads analytics and the CRM.",
			Permissions: []string{PermAnalyticsView, PermCRMView},
		},
		{
			Key: RoleDeveloper, DisplayName: "Developer",
			Description: "Develops and configures bots and integrations.",
			Permissions: []string{PermDeveloperConfigure},
		},
		{
			Key: RoleOrderPaymentAdmin, DisplayName: "Order & payment administrator",
			Description:         "Works only in the orders area: creates, cancels, deletes and comments on orders.",
			Permissions:         []string{PermOrdersView, PermOrdersManage},
			OptionalPermissions: []string{PermOrdersIndependent, PermPaymentsReconcile, PermReportsPayments},
		},
		{
			Key: RoleStakeholder, DisplayName: "Stakeholder",
			Description: "Views and manages conversations, orders, tags, templates and reports.",
			Permissions: []string{PermConversationsAnswer, PermConversationsViewAll, PermConversationsAssign,
				PermTemplatesManage, PermOrdersView, PermReportsView},
		},
	}
	for i := range roles {
		roles[i].AccountID = accountID
		roles[i].BuiltIn = true
		roles[i].ConsumesSeat = slices.Contains(roles[i].Permissions, PermConversationsAnswer)
		if roles[i].OptionalPermissions == nil {
			roles[i].OptionalPermissions = []string{}
		}
	}
	slices.SortFunc(roles, func(a, b repository.Role) int { return strings.Compare(a.Key, b.Key) })
	return roles
}
