package provisioning

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/rosterhq/roster/repository"
)

// Bulk import.
//
// ImportMembers creates many members from rows (parsed from CSV or JSON by
// package provisioning/memberimport), each through the same path as a
// single create or invitation, so every rule (seats, grants, the team
// hierarchy, unique addresses) applies per row. Each row gets a result:
// created, invited, queued for a seat, or an error with the reason and
// the row number. Three modes:
//   - default: every row is its own transaction; a bad row is reported and
//     the good rows around it are imported;
//   - dry run: every row is validated against the store and the rows
//     before it (duplicates in the file, team leaders, seats left) and
//     reported as it would be, without writing anything;
//   - atomic: all rows in one transaction, committed only when every row
//     succeeds; refused on a store without transactions.
//
// Rows naming a team leader that is another row of the file are imported
// after that row, whatever their order in the file.

// MaxImportRows is the most rows one import takes.
const MaxImportRows = 10_000

// Row outcomes of an import.
const (
	ImportCreated = "created" // an active member was created
	ImportInvited = "invited" // an invited member was created and emailed
	ImportQueued  = "queued"  // created or invited, waiting for an agent seat
	ImportFailed  = "error"   // the row was refused; Code and Message say why
	// ImportNotImported marks a good row of an atomic import that was
	// rolled back because other rows failed.
	ImportNotImported = "not_imported"
)

// ImportRow is one member to import, as a file gave it.
type ImportRow struct {
	// Row is the row's number in the source: the line of a CSV file
	// (the header is line 1), the 1-based position in a JSON array.
	Row              int
	Email            string
	FirstName        string
	LastName         string
	DisplayName      string
	Roles            []string // role keys or display names; empty: the default role
	EmployeeNumber   string
	TeamLeaderEmail  string
	Expertise        []string
	Channels         []string
	EmploymentStatus string
	StartDate        string
	ExternalSSO      bool
	CanManageTeams   bool
	// Invite creates the member invited and emails an invitation; without
	// it the member is created active and no email is sent (members who
	// sign in through SSO, or get a link later).
	Invite bool
	// Problem is why the row could not be read (a malformed boolean, a
	// missing column); such a row is reported with it and not imported.
	Problem      string
	ProblemField string
}

// ImportOptions selects the import mode.
type ImportOptions struct {
	DryRun bool
	Atomic bool
	// Progress, when set, is called after each row with the rows done and
	// the total.
	Progress func(done, total int)
}

// ImportRowResult is the outcome of one row.
type ImportRowResult struct {
	Row      int
	Email    string
	Status   string // ImportCreated, ImportInvited, ImportQueued, ImportFailed, ImportNotImported
	Invited  bool   // an invitation was (or in a dry run would be) sent
	MemberID string // the member created; empty in dry runs and failures
	Code     Code   // for ImportFailed
	Field    string // the column at fault, when one is
	Message  string
}

// ImportResult is the outcome of an import.
type ImportResult struct {
	DryRun bool
	Atomic bool
	// Committed reports whether the import wrote anything: false for dry
	// runs and for atomic imports with a failed row.
	Committed                        bool
	Rows                             []ImportRowResult // in the order of the input
	Created, Invited, Queued, Failed int
}

// errAtomicFailed rolls back an atomic import with a failed row.
var errAtomicFailed = errors.New("atomic import: a row failed")

// importState is what the rows of one import share.
type importState struct {
	acct  repository.Account
	roles []repository.Role
	idx   roleIndex
	// actorPerms are the effective permissions of a member actor.
	actorPerms []string
	// rowOf maps a lower-cased address to the first row index using it.
	rowOf map[string]int
	// done holds the results so far, by row index; created the member ids.
	done    []*ImportRowResult
	created map[int]string
	// canLead records, by row index, whether a row's member can manage
	// teams (may be a team leader for the admin API).
	canLead map[int]bool
	rows    []ImportRow
	// free is the named seats left, for dry runs.
	free int
}

// ImportMembers imports rows into the account as actor; see the package
// comment above for the modes. The error is for the import as a whole
// (too many rows, atomic on a store without transactions, the account
// unreadable); row failures are in the result.
func (s *Service) ImportMembers(ctx context.Context, actor Actor, accountID string, rows []ImportRow, opts ImportOptions) (ImportResult, error) {
	res := ImportResult{DryRun: opts.DryRun, Atomic: opts.Atomic, Rows: make([]ImportRowResult, len(rows))}
	switch {
	case len(rows) > MaxImportRows:
		return res, &Error{Code: CodeInvalidValue, Attribute: "rows",
			Message: fmt.Sprintf("an import takes at most %d rows, this one has %d: split the file", MaxImportRows, len(rows))}
	case opts.Atomic && !opts.DryRun && !s.store.Transactional():
		return res, &Error{Code: CodeInvalidValue, Attribute: "atomic",
			Message: "an all-or-nothing import needs a store with transactions, and this deployment's store has none (a MongoDB without a replica set): import without atomic, which reports every row"}
	}
	for _, r := range rows {
		if r.Invite {
			if _, err := s.inviteLink("x"); err != nil {
				return res, err
			}
			break
		}
	}
	st, err := s.importState(ctx, actor, accountID, rows)
	if err != nil {
		return res, err
	}
	order := importOrder(rows, st.rowOf)

	run := func(ctx context.Context) error {
		for n, i := range order {
			r := s.importRow(ctx, actor, st, rows[i], i, opts)
			res.Rows[i] = r
			st.done[i] = &res.Rows[i]
			if opts.Progress != nil {
				opts.Progress(n+1, len(rows))
			}
		}
		if opts.Atomic && !opts.DryRun && countFailed(res.Rows) > 0 {
			return errAtomicFailed
		}
		return nil
	}
	if opts.Atomic && !opts.DryRun {
		err = s.store.InTx(ctx, run)
		if errors.Is(err, errAtomicFailed) {
			failed := countFailed(res.Rows)
			for i := range res.Rows {
				if r := &res.Rows[i]; r.Status != ImportFailed {
					r.Status, r.MemberID, r.Invited = ImportNotImported, "", false
					r.Message = fmt.Sprintf("not imported: the import is all-or-nothing and %d %s failed", failed, plural(failed, "row", "rows"))
				}
			}
			err = nil
		} else if err == nil {
			res.Committed = true
		}
	} else {
		err = run(ctx)
		res.Committed = !opts.DryRun
	}
	if err != nil {
		return res, err
	}
	for _, r := range res.Rows {
		switch r.Status {
		case ImportCreated:
			res.Created++
		case ImportInvited:
			res.Invited++
		case ImportQueued:
			res.Queued++
		case ImportFailed:
			res.Failed++
		}
	}
	if res.Committed && res.Created+res.Invited+res.Queued > 0 {
		// Each member has its own audit event; this one ties them together.
		_ = s.audit(ctx, actor, accountID, "member.import", "account", accountID, map[string]int{
			"rows": len(rows), "created": res.Created, "invited": res.Invited, "queued": res.Queued, "failed": res.Failed,
		})
	}
	return res, nil
}

// countFailed counts failed rows.
func countFailed(rs []ImportRowResult) int {
	n := 0
	for _, r := range rs {
		if r.Status == ImportFailed {
			n++
		}
	}
	return n
}

// importState reads what every row needs once.
func (s *Service) importState(ctx context.Context, actor Actor, accountID string, rows []ImportRow) (*importState, error) {
	acct, err := s.store.GetAccount(ctx, accountID)
	if err != nil {
		return nil, fmt.Errorf("import members: %w", err)
	}
	list, idx, err := s.roleCatalogue(ctx, accountID)
	if err != nil {
		return nil, err
	}
	st := &importState{acct: acct, roles: list, idx: idx, rowOf: map[string]int{},
		done: make([]*ImportRowResult, len(rows)), created: map[int]string{}, canLead: map[int]bool{}, rows: rows}
	if actor.Kind == repository.ActorMember {
		eff, err := s.EffectivePermissions(ctx, accountID, actor.ID)
		if err != nil {
			return nil, fmt.Errorf("import members: %w", err)
		}
		st.actorPerms = eff.Permissions
	}
	for i, r := range rows {
		e := strings.ToLower(strings.TrimSpace(r.Email))
		if _, seen := st.rowOf[e]; !seen && e != "" {
			st.rowOf[e] = i
		}
	}
	if acct.Seats.Policy == repository.SeatPolicyNamed {
		used, err := s.store.SeatsInUse(ctx, accountID)
		if err != nil {
			return nil, fmt.Errorf("import members: %w", err)
		}
		st.free = max(acct.Seats.Total-used, 0)
	}
	return st, nil
}

// importOrder returns the row indexes in the order to import them: file
// order, except that a row naming another row as its team leader comes
// after that row. Rows whose leader references form a cycle keep file
// order; the leader check then reports them.
func importOrder(rows []ImportRow, rowOf map[string]int) []int {
	const (
		unseen = iota
		visiting
		placed
	)
	state := make([]int, len(rows))
	order := make([]int, 0, len(rows))
	var visit func(i int)
	visit = func(i int) {
		// Iterative along the chain of leaders, which may be long.
		var chain []int
		for cur := i; ; {
			if state[cur] != unseen {
				break
			}
			state[cur] = visiting
			chain = append(chain, cur)
			j, ok := rowOf[strings.ToLower(strings.TrimSpace(rows[cur].TeamLeaderEmail))]
			if !ok || strings.TrimSpace(rows[cur].TeamLeaderEmail) == "" {
				break
			}
			cur = j
		}
		for k := len(chain) - 1; k >= 0; k-- {
			state[chain[k]] = placed
			order = append(order, chain[k])
		}
	}
	for i := range rows {
		visit(i)
	}
	return order
}

// importRow imports (or in a dry run checks) one row.
func (s *Service) importRow(ctx context.Context, actor Actor, st *importState, row ImportRow, i int, opts ImportOptions) ImportRowResult {
	out := ImportRowResult{Row: rowNumber(st, i), Email: strings.TrimSpace(row.Email)}
	fail := func(err error) ImportRowResult {
		out.Status = ImportFailed
		if pe := AsError(err); pe != nil {
			out.Code, out.Message, out.Field = pe.Code, pe.Message, importField(pe.Attribute)
		} else {
			out.Code, out.Message = "internal_error", "the row could not be imported because of a server error; try again"
		}
		return out
	}
	m, email, err := s.planImportRow(ctx, actor, st, row, i, opts.DryRun)
	if err != nil {
		return fail(err)
	}
	out.Email = email
	out.Invited = row.Invite
	st.canLead[i] = m.Profile.CanManageTeams

	if opts.DryRun {
		status := ImportCreated
		if row.Invite {
			status = ImportInvited
		}
		if st.acct.Seats.Policy == repository.SeatPolicyNamed && st.idx.consumesSeat(m.Roles) {
			switch {
			case st.free > 0:
				st.free--
			case st.acct.Seats.Exhaustion == repository.SeatExhaustionReject:
				return fail(&Error{Code: CodeSeatLimitReached, Attribute: "roles",
					Message: fmt.Sprintf("%d of %d agent seats in use: buy more seats or free one, then try again",
						st.acct.Seats.Total, st.acct.Seats.Total)})
			default:
				status = ImportQueued
			}
		}
		out.Status = status
		return out
	}

	var created repository.Member
	err = s.store.InTx(ctx, func(ctx context.Context) error {
		if row.Invite {
			inv, err := s.createWithLinkTx(ctx, actor, m, email, repository.InvitationInvite, true)
			created = inv.Member
			return err
		}
		c, err := s.CreateMember(ctx, actor, m)
		created = c
		return emailConflict(err, email)
	})
	if err != nil {
		return fail(err)
	}
	st.created[i] = created.ID
	out.MemberID = created.ID
	switch {
	case created.SeatStatus == repository.SeatQueued:
		out.Status = ImportQueued
	case row.Invite:
		out.Status = ImportInvited
	default:
		out.Status = ImportCreated
	}
	return out
}

// planImportRow validates a row and builds its member. It reads but never
// writes.
func (s *Service) planImportRow(ctx context.Context, actor Actor, st *importState, row ImportRow, i int, dryRun bool) (repository.Member, string, error) {
	bad := func(field, format string, args ...any) error {
		return &Error{Code: CodeInvalidValue, Attribute: field, Message: fmt.Sprintf(format, args...)}
	}
	if row.Problem != "" {
		return repository.Member{}, "", bad(row.ProblemField, "%s", row.Problem)
	}
	email, err := validateEmail("email", row.Email)
	if err != nil {
		return repository.Member{}, "", err
	}
	key := strings.ToLower(email)
	if first := st.rowOf[key]; first != i {
		return repository.Member{}, email, &Error{Code: CodeConflict, Attribute: "email",
			Message: fmt.Sprintf("the email %s is also on row %d of this import; each person goes on one row", email, rowNumber(st, first))}
	}
	first, last := strings.TrimSpace(row.FirstName), strings.TrimSpace(row.LastName)
	switch {
	case first == "":
		return repository.Member{}, email, bad("firstName", "firstName is required")
	case last == "":
		return repository.Member{}, email, bad("lastName", "lastName is required")
	}
	if err := s.checkEmailFree(ctx, st.acct.ID, email); err != nil {
		return repository.Member{}, email, err
	}
	roles := row.Roles
	if len(trimmedSet(roles, false)) == 0 && st.acct.Settings.DefaultRoleKey != "" {
		roles = []string{st.acct.Settings.DefaultRoleKey}
	}
	keys, err := resolveRoles(st.roles, roles)
	if err != nil {
		return repository.Member{}, email, err
	}
	if actor.Kind == repository.ActorMember {
		if err := checkGrantable(st.idx, st.actorPerms, keys, nil); err != nil {
			return repository.Member{}, email, err
		}
	}
	profile := repository.SupportProfile{
		Expertise: row.Expertise, Channels: row.Channels,
		EmploymentStatus: row.EmploymentStatus, StartDate: row.StartDate,
		ExternalSSO: row.ExternalSSO, CanManageTeams: row.CanManageTeams,
	}
	if err := normalizeProfile(&profile); err != nil {
		return repository.Member{}, email, err
	}
	leaderID, err := s.importLeader(ctx, actor, st, row, key, dryRun)
	if err != nil {
		return repository.Member{}, email, err
	}
	display := strings.TrimSpace(row.DisplayName)
	if display == "" {
		display = first + " " + last
	}
	m := repository.Member{
		AccountID:      st.acct.ID,
		UserName:       key,
		Name:           repository.Name{GivenName: first, FamilyName: last, Formatted: first + " " + last},
		DisplayName:    display,
		Emails:         []repository.Email{{Value: email, Type: "work", Primary: true}},
		EmployeeNumber: strings.TrimSpace(row.EmployeeNumber),
		Active:         true,
		Roles:          keys,
		ManagerID:      leaderID,
		Profile:        profile,
	}
	if row.Invite {
		m.Source = repository.SourceInvitation
	}
	return m, email, nil
}

// importLeader resolves a row's team leader: another row of the import
// (imported before it) or a member of the account, by email. In a dry
// run a leader from the file has no id yet; "" is returned for it.
func (s *Service) importLeader(ctx context.Context, actor Actor, st *importState, row ImportRow, self string, dryRun bool) (string, error) {
	ref := strings.ToLower(strings.TrimSpace(row.TeamLeaderEmail))
	if ref == "" {
		return "", nil
	}
	bad := func(format string, args ...any) error {
		return &Error{Code: CodeInvalidValue, Attribute: "teamLeaderEmail", Message: fmt.Sprintf(format, args...)}
	}
	if ref == self {
		return "", bad("a member cannot be their own team leader")
	}
	if j, inFile := st.rowOf[ref]; inFile {
		done := st.done[j]
		switch {
		case done == nil:
			return "", bad("the team leader %s (row %d) is not imported yet: the rows' team leaders form a cycle", ref, rowNumber(st, j))
		case done.Status == ImportFailed:
			return "", bad("the team leader %s (row %d) was not imported: %s", ref, rowNumber(st, j), done.Message)
		}
		if actor.Kind == repository.ActorMember && !st.canLead[j] {
			// The admin API refuses leaders that cannot manage teams.
			return "", bad("the team leader %s (row %d) cannot manage teams: set canManageTeams to true on that row", ref, rowNumber(st, j))
		}
		if dryRun {
			return "", nil
		}
		return st.created[j], nil
	}
	leader, err := s.store.GetMemberByUserName(ctx, st.acct.ID, ref)
	if errors.Is(err, repository.ErrNotFound) {
		page, lerr := s.store.ListMembers(ctx, st.acct.ID, repository.Query{Count: 1,
			Filter: repository.Compare{Field: repository.MemberEmailValue, Op: repository.OpEq, Value: ref}})
		if lerr != nil {
			return "", fmt.Errorf("find team leader: %w", lerr)
		}
		if len(page.Items) == 0 {
			return "", bad("no member of this account and no row of this import has the email %s", ref)
		}
		leader, err = page.Items[0], nil
	}
	if err != nil {
		return "", fmt.Errorf("find team leader: %w", err)
	}
	if actor.Kind == repository.ActorMember && !leader.Profile.CanManageTeams {
		return "", bad("the team leader %s cannot manage teams: turn on canManageTeams for them first", ref)
	}
	return leader.ID, nil
}

// rowNumber returns the source row number of row index i.
func rowNumber(st *importState, i int) int {
	if n := st.rows[i].Row; n > 0 {
		return n
	}
	return i + 1
}

// importField names a provisioning attribute as the import's column.
func importField(attr string) string {
	switch attr {
	case "userName", "emails", "emails.value":
		return "email"
	case "manager", "manager.value":
		return "teamLeaderEmail"
	case "name.givenName":
		return "firstName"
	case "name.familyName":
		return "lastName"
	}
	return attr
}
