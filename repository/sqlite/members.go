package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/rosterhq/roster/repository"
)

// Side tables of a member's multi-valued attributes. Each row is
// (account_id, member_pk, pos, ...values); pos keeps the element order.
// They are what filters and uniqueness checks on those attributes use.
// Reads do not descend them: the member row carries the same values
// packed in its multi_values column (packSides), written with every
// change of the row, so a member comes back from one row of one B-tree.
const (
	sideEmails = iota
	sidePhones
	sideAddresses
	sideRoles
	sideOptionalPermissions
	sideExpertise
	sideChannels
	sideCount
)

var sideTables = [sideCount]struct {
	name string
	cols []string // value columns after (account_id, member_pk, pos)
	read []string // value columns returned by the side query, at most 8
}{
	sideEmails:              {"member_emails", []string{"value", "value_lc", "type", "type_lc", "display", "is_primary"}, []string{"value", "type", "display", "is_primary"}},
	sidePhones:              {"member_phones", []string{"value", "value_lc", "type", "type_lc", "display", "is_primary"}, []string{"value", "type", "display", "is_primary"}},
	sideAddresses:           {"member_addresses", []string{"formatted", "street_address", "locality", "region", "postal_code", "country", "type", "is_primary"}, []string{"formatted", "street_address", "locality", "region", "postal_code", "country", "type", "is_primary"}},
	sideRoles:               {"member_roles", []string{"role_key", "role_key_lc"}, []string{"role_key"}},
	sideOptionalPermissions: {"member_optional_permissions", []string{"role_key", "permission"}, []string{"role_key", "permission"}},
	sideExpertise:           {"member_expertise", []string{"value", "value_lc"}, []string{"value"}},
	sideChannels:            {"member_channels", []string{"value", "value_lc"}, []string{"value"}},
}

const sideValueCols = 8

var (
	qInsertSide, qDeleteSide = sideStatements()
	// qInsertSides inserts every row of one attribute with one statement:
	// ?1 account, ?2 member pk, ?3 a JSON array of rows, each an array of
	// the value columns (pos is the row's index).
	qInsertSides = sideBatchStatements()
)

func sideStatements() (insert, del [sideCount]string) {
	for k, t := range sideTables {
		cols := append([]string{"account_id", "member_pk", "pos"}, t.cols...)
		insert[k] = fmt.Sprintf("INSERT INTO %s (%s) VALUES (?%s)", t.name, strings.Join(cols, ", "), strings.Repeat(", ?", len(cols)-1))
		del[k] = fmt.Sprintf("DELETE FROM %s WHERE account_id = ? AND member_pk = ?", t.name)
	}
	return insert, del
}

func sideBatchStatements() (out [sideCount]string) {
	for k, t := range sideTables {
		cols := append([]string{"account_id", "member_pk", "pos"}, t.cols...)
		vals := []string{"?1", "?2", "key"}
		for i := range t.cols {
			vals = append(vals, fmt.Sprintf("value ->> %d", i))
		}
		out[k] = fmt.Sprintf("INSERT INTO %s (%s) SELECT %s FROM json_each(?3)", t.name, strings.Join(cols, ", "), strings.Join(vals, ", "))
	}
	return out
}

// decodeSide fills attribute k of m from its part of a packSides string:
// rows of "<pos>:" then each read column as "<bytes>:<value>". Rows are
// placed by their pos, whatever order they come in.
func decodeSide(k int, enc string, m *repository.Member) error {
	n := len(sideTables[k].read)
	var c [sideValueCols]string
	for enc != "" {
		num, rest, ok := strings.Cut(enc, ":")
		pos, err := strconv.Atoi(num)
		if !ok || err != nil {
			return errors.New("malformed side row")
		}
		enc = rest
		for i := range n {
			if c[i], enc, err = nextPacked(enc); err != nil {
				return err
			}
		}
		switch k {
		case sideEmails:
			m.Emails = place(m.Emails, pos, repository.Email{Value: c[0], Type: c[1], Display: c[2], Primary: c[3] == "1"})
		case sidePhones:
			m.PhoneNumbers = place(m.PhoneNumbers, pos, repository.PhoneNumber{Value: c[0], Type: c[1], Display: c[2], Primary: c[3] == "1"})
		case sideAddresses:
			m.Addresses = place(m.Addresses, pos, repository.Address{Formatted: c[0], StreetAddress: c[1], Locality: c[2], Region: c[3], PostalCode: c[4], Country: c[5], Type: c[6], Primary: c[7] == "1"})
		case sideRoles:
			m.Roles = place(m.Roles, pos, c[0])
		case sideOptionalPermissions:
			m.OptionalPermissions = place(m.OptionalPermissions, pos, repository.RolePermission{Role: c[0], Permission: c[1]})
		case sideExpertise:
			m.Profile.Expertise = place(m.Profile.Expertise, pos, c[0])
		case sideChannels:
			m.Profile.Channels = place(m.Profile.Channels, pos, c[0])
		}
	}
	return nil
}

var (
	qInsertMember      = memberTable.insertSQL()
	qMemberCols        = "m.pk, " + memberTable.selectList("m")
	qMemberColsSides   = memberColumns("m")
	qGetMember         = "SELECT " + qMemberColsSides + " FROM members m WHERE m.account_id = ? AND m.id = ?"
	qGetMemberByName   = "SELECT " + qMemberColsSides + " FROM members m WHERE m.account_id = ? AND m.user_name_lc = ?"
	qUpdateMember      = memberTable.updateSQL("account_id = ? AND pk = ? AND version = ?")
	qMemberPK          = "SELECT pk FROM members WHERE account_id = ? AND id = ?"
	qDeleteMember      = "DELETE FROM members WHERE pk = ?"
	qCountMember       = "UPDATE accounts SET member_count = member_count + ? WHERE id = ?"
	qMemberCount       = "SELECT member_count FROM accounts WHERE id = ?"
	qBumpMemberGroups  = "UPDATE groups SET version = version + 1, updated_at = max(updated_at + 1, ?) WHERE account_id = ? AND id IN (SELECT group_id FROM group_members WHERE account_id = ? AND member_id = ?)"
	qDeleteMemberEdges = "DELETE FROM group_members WHERE account_id = ? AND member_id = ?"
	qDeleteMemberSeat  = "DELETE FROM seats WHERE account_id = ? AND member_id = ?"
	qDeleteMemberSess  = "DELETE FROM sessions WHERE account_id = ? AND member_id = ?"
	qRevokeMemberToks  = "UPDATE tokens SET revoked_at = ? WHERE account_id = ? AND member_id = ? AND revoked_at = 0"
	qGroupsOfMembers   = `SELECT gm.member_id, g.id, g.display_name FROM group_members gm
		JOIN groups g ON g.account_id = gm.account_id AND g.id = gm.group_id
		WHERE gm.account_id = ? AND gm.member_id IN (SELECT value FROM json_each(?))
		ORDER BY gm.member_id, g.display_name_lc, g.id`
	// qMemberInGroups is the select-list column of ListMembers with
	// Query.WithGroups: whether member m belongs to any group. The groups
	// themselves are read only for the members that do (most members of
	// an account provisioned without groups belong to none, and a second
	// statement per lookup was a tenth of its cost).
	qMemberInGroups = `EXISTS (SELECT 1 FROM group_members gm WHERE gm.account_id = m.account_id AND gm.member_id = m.id) AS in_groups`
	// qGroupsOfMember is qGroupsOfMembers for one member (a SCIM lookup,
	// a write's response): no JSON list to parse and join.
	qGroupsOfMember = `SELECT g.id, g.display_name FROM group_members gm
		JOIN groups g ON g.account_id = gm.account_id AND g.id = gm.group_id
		WHERE gm.account_id = ? AND gm.member_id = ?
		ORDER BY g.display_name_lc, g.id`
)

// memberRow is a member and its rowid, which keys its side rows.
type memberRow struct {
	pk  int64
	key string // sort key, when the list is sorted
	m   repository.Member
}

// memberColumns is the select list of a member read (see scanMember):
// the pk, then the member row, multi-valued attributes included, packed
// into one column. The column is named: the driver copies every result
// column's name on every execution, and an unnamed one is named by its
// whole expression (2.7 KB per read, a tenth of a lookup's allocation).
func memberColumns(a string) string {
	return a + ".pk, " + memberTable.packedSelect(a) + " AS packed_row"
}

// scanMember scans a row of memberColumns (and extra columns after it).
func scanMember(rows *sql.Rows, r *memberRow, extra ...any) error {
	var packed string
	dest := make([]any, 0, 2+len(extra))
	dest = append(dest, &r.pk, &packed)
	if err := rows.Scan(append(dest, extra...)...); err != nil {
		return err
	}
	if _, err := memberTable.unpack(packed, &r.m); err != nil {
		return fmt.Errorf("member row: %w", err)
	}
	return nil
}

// CreateMember stores m with its side rows.
func (s *Store) CreateMember(ctx context.Context, m repository.Member) (repository.Member, error) {
	if m.ID == "" {
		m.ID = repository.NewID()
	}
	now := s.now()
	m.Version, m.CreatedAt, m.UpdatedAt = 1, now, now
	m = normalizeMember(m)
	err := s.write(ctx, func(h handle) error {
		pk, err := lastID(h.exec(ctx, qInsertMember, memberTable.args(&m)...))
		if err != nil {
			return err
		}
		if _, err := h.exec(ctx, qCountMember, 1, m.AccountID); err != nil {
			return err
		}
		return writeSides(ctx, h, m.AccountID, pk, &m, nil)
	})
	if err != nil {
		return repository.Member{}, mapErr("create member", err)
	}
	return m, nil
}

func lastID(res sql.Result, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	return res.LastInsertId()
}

// writeSides writes the side rows of m whose attribute differs from old
// (every attribute when old is nil), replacing that attribute's rows.
func writeSides(ctx context.Context, h handle, accountID string, pk int64, m, old *repository.Member) error {
	for k := range sideCount {
		if old != nil {
			if sideEqual(k, m, old) {
				continue
			}
			if _, err := h.exec(ctx, qDeleteSide[k], accountID, pk); err != nil {
				return err
			}
		}
		rows := sideRows(k, m)
		if len(rows) > 1 && validUTF8(rows) {
			// One statement for all rows: each statement is a round
			// trip through database/sql.
			b, err := json.Marshal(rows)
			if err != nil {
				return err
			}
			if _, err := h.exec(ctx, qInsertSides[k], accountID, pk, string(b)); err != nil {
				return err
			}
			continue
		}
		for i, row := range rows {
			args := append([]any{accountID, pk, i}, row...)
			if _, err := h.exec(ctx, qInsertSide[k], args...); err != nil {
				return err
			}
		}
	}
	return nil
}

// validUTF8 reports whether every string of rows is valid UTF-8, which
// JSON carries unchanged (it would replace invalid bytes).
func validUTF8(rows [][]any) bool {
	for _, row := range rows {
		for _, v := range row {
			if s, ok := v.(string); ok && !utf8.ValidString(s) {
				return false
			}
		}
	}
	return true
}

// packSides packs m's multi-valued attributes for members.multi_values:
// one packList entry per side table, in sideTables order, each holding
// the attribute's rows as decodeSide reads them.
func packSides(m *member) string {
	parts := make([]string, sideCount)
	var b strings.Builder
	for k := range sideCount {
		b.Reset()
		for i, row := range sideRows(k, m) {
			b.WriteString(strconv.Itoa(i))
			b.WriteByte(':')
			for _, c := range sideReadCols[k] {
				writePacked(&b, sideText(row[c]))
			}
		}
		parts[k] = b.String()
	}
	return packList(parts)
}

// unpackSides fills m's multi-valued attributes from a packSides string.
func unpackSides(s string, m *member) error {
	parts, err := unpackList(s)
	if err != nil {
		return err
	}
	if len(parts) != sideCount {
		return fmt.Errorf("%d packed attributes, want %d", len(parts), sideCount)
	}
	for k, enc := range parts {
		if err := decodeSide(k, enc, m); err != nil {
			return err
		}
	}
	return nil
}

// sideReadCols[k] are the positions in sideTables[k].cols (and sideRows)
// of the columns in sideTables[k].read.
var sideReadCols = func() (out [sideCount][]int) {
	for k, t := range sideTables {
		for _, name := range t.read {
			out[k] = append(out[k], slices.Index(t.cols, name))
		}
	}
	return out
}()

// sideText renders a sideRows value as SQLite's concat() renders the
// column: integers (booleans) in decimal.
func sideText(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case int:
		return strconv.Itoa(v)
	case int64:
		return strconv.FormatInt(v, 10)
	}
	return fmt.Sprint(v)
}

// sideEqual reports whether attribute k of a and b is the same.
func sideEqual(k int, a, b *repository.Member) bool {
	switch k {
	case sideEmails:
		return slices.Equal(a.Emails, b.Emails)
	case sidePhones:
		return slices.Equal(a.PhoneNumbers, b.PhoneNumbers)
	case sideAddresses:
		return slices.Equal(a.Addresses, b.Addresses)
	case sideRoles:
		return slices.Equal(a.Roles, b.Roles)
	case sideOptionalPermissions:
		return slices.Equal(a.OptionalPermissions, b.OptionalPermissions)
	case sideExpertise:
		return slices.Equal(a.Profile.Expertise, b.Profile.Expertise)
	case sideChannels:
		return slices.Equal(a.Profile.Channels, b.Profile.Channels)
	}
	return true
}

// sideRows returns the value columns (sideTables[k].cols) of attribute k.
func sideRows(k int, m *repository.Member) [][]any {
	lc := strings.ToLower
	var rows [][]any
	switch k {
	case sideEmails:
		for _, e := range m.Emails {
			rows = append(rows, []any{e.Value, lc(e.Value), e.Type, lc(e.Type), e.Display, b2i(e.Primary)})
		}
	case sidePhones:
		for _, p := range m.PhoneNumbers {
			rows = append(rows, []any{p.Value, lc(p.Value), p.Type, lc(p.Type), p.Display, b2i(p.Primary)})
		}
	case sideAddresses:
		for _, a := range m.Addresses {
			rows = append(rows, []any{a.Formatted, a.StreetAddress, a.Locality, a.Region, a.PostalCode, a.Country, a.Type, b2i(a.Primary)})
		}
	case sideRoles:
		for _, r := range m.Roles {
			rows = append(rows, []any{r, lc(r)})
		}
	case sideOptionalPermissions:
		for _, p := range m.OptionalPermissions {
			rows = append(rows, []any{p.Role, p.Permission})
		}
	case sideExpertise:
		for _, v := range m.Profile.Expertise {
			rows = append(rows, []any{v, lc(v)})
		}
	case sideChannels:
		for _, v := range m.Profile.Channels {
			rows = append(rows, []any{v, lc(v)})
		}
	}
	return rows
}

// place sets element pos of s, growing it as needed. Positions are written
// as 0..n-1, so the rows of one attribute fill the slice whatever order
// they arrive in.
func place[T any](s []T, pos int, v T) []T {
	if pos < 0 || pos > 1<<16 {
		return append(s, v) // not a position this package wrote
	}
	if pos >= len(s) {
		s = append(s, make([]T, pos+1-len(s))...)
	}
	s[pos] = v
	return s
}

// GetMember returns the member with its multi-valued attributes.
func (s *Store) GetMember(ctx context.Context, accountID, id string) (repository.Member, error) {
	r, err := s.getMember(ctx, qGetMember, accountID, id)
	return r.m, wrap("get member", err)
}

// GetMemberByUserName finds a member by userName, ignoring case.
func (s *Store) GetMemberByUserName(ctx context.Context, accountID, userName string) (repository.Member, error) {
	r, err := s.getMember(ctx, qGetMemberByName, accountID, strings.ToLower(userName))
	return r.m, wrap("get member by userName", err)
}

func (s *Store) getMember(ctx context.Context, query, accountID, key string) (memberRow, error) {
	// One statement reads the member and its multi-valued attributes, so
	// it sees one snapshot without a read transaction around it.
	var r memberRow
	rows, err := s.reader(ctx).query(ctx, query, accountID, key)
	if err != nil {
		return r, err
	}
	found := rows.Next()
	if found {
		err = scanMember(rows, &r)
	}
	if err = errors.Join(err, rows.Err(), rows.Close()); err != nil {
		return r, err
	}
	if !found {
		return r, repository.ErrNotFound
	}
	return r, nil
}

// UpdateMember reads the member, applies fn to a copy and writes the result
// with a compare-and-swap on Version, in one IMMEDIATE transaction (see
// update). Only the side tables whose attribute changed are rewritten. The
// account, id and creation time cannot be changed by fn.
func (s *Store) UpdateMember(ctx context.Context, accountID, id string, fn func(repository.Member) (repository.Member, error)) (repository.Member, error) {
	var out repository.Member
	err := s.update(ctx, "update member", func(ctx context.Context) (bool, error) {
		old, err := s.getMember(ctx, qGetMember, accountID, id)
		if err != nil {
			return false, wrap("update member", err)
		}
		next, err := fn(cloneMember(old.m))
		if err != nil {
			return false, err
		}
		next.AccountID, next.ID, next.CreatedAt = old.m.AccountID, old.m.ID, old.m.CreatedAt
		next.Version, next.UpdatedAt = old.m.Version+1, s.nextUpdate(old.m.UpdatedAt)
		next = normalizeMember(next)
		won := false
		err = s.write(ctx, func(h handle) error {
			n, err := affected(h.exec(ctx, qUpdateMember, memberTable.updateArgs(&next, accountID, old.pk, old.m.Version)...))
			if err != nil || n == 0 {
				return err
			}
			won = true
			return writeSides(ctx, h, accountID, old.pk, &next, &old.m)
		})
		if err != nil {
			return false, mapErr("update member", err)
		}
		out = next
		return won, nil
	})
	if err != nil {
		return repository.Member{}, err
	}
	return out, nil
}

// DeleteMember removes the member, its side rows, group edges (bumping
// those groups' versions), seat, sessions and identity links, and revokes
// its API tokens.
func (s *Store) DeleteMember(ctx context.Context, accountID, id string) error {
	err := s.write(ctx, func(h handle) error {
		var pk int64
		if err := h.queryRow(ctx, []any{&pk}, qMemberPK, accountID, id); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return repository.ErrNotFound
			}
			return err
		}
		for k := range sideCount {
			if _, err := h.exec(ctx, qDeleteSide[k], accountID, pk); err != nil {
				return err
			}
		}
		now := toNanos(s.now())
		steps := []struct {
			q    string
			args []any
		}{
			{qBumpMemberGroups, []any{now, accountID, accountID, id}},
			{qDeleteMemberEdges, []any{accountID, id}},
			{qDeleteMemberSeat, []any{accountID, id}},
			{qDeleteMemberSess, []any{accountID, id}},
			{qDeleteMemberLink, []any{accountID, id}},
			{qRevokeMemberToks, []any{now, accountID, id}},
			{qDeleteMember, []any{pk}},
			{qCountMember, []any{-1, accountID}},
		}
		for _, st := range steps {
			if _, err := h.exec(ctx, st.q, st.args...); err != nil {
				return err
			}
		}
		return nil
	})
	return wrap("delete member", err)
}

// GroupsOfMembers returns the groups of each member in one query.
func (s *Store) GroupsOfMembers(ctx context.Context, accountID string, memberIDs []string) (map[string][]repository.GroupRef, error) {
	out, err := groupsOfMembers(ctx, s.reader(ctx), accountID, memberIDs)
	return out, wrap("groups of members", err)
}

// groupsOfMembers is GroupsOfMembers on h.
func groupsOfMembers(ctx context.Context, h handle, accountID string, memberIDs []string) (map[string][]repository.GroupRef, error) {
	out := make(map[string][]repository.GroupRef, len(memberIDs))
	if len(memberIDs) == 0 {
		return out, nil
	}
	one := len(memberIDs) == 1
	var rows *sql.Rows
	var err error
	if one {
		rows, err = h.query(ctx, qGroupsOfMember, accountID, memberIDs[0])
	} else {
		rows, err = h.query(ctx, qGroupsOfMembers, accountID, jsonStrings(dedupe(memberIDs)))
	}
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var mid string
		var g repository.GroupRef
		dest := []any{&mid, &g.GroupID, &g.DisplayName}
		if one {
			mid, dest = memberIDs[0], dest[1:]
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		out[mid] = append(out[mid], g)
	}
	return out, rows.Err()
}

// cloneMember copies m deeply enough that fn cannot change the record the
// store compares against.
func cloneMember(m repository.Member) repository.Member {
	m.Emails = slices.Clone(m.Emails)
	m.PhoneNumbers = slices.Clone(m.PhoneNumbers)
	m.Addresses = slices.Clone(m.Addresses)
	m.Roles = slices.Clone(m.Roles)
	m.OptionalPermissions = slices.Clone(m.OptionalPermissions)
	m.Profile.Expertise = slices.Clone(m.Profile.Expertise)
	m.Profile.Channels = slices.Clone(m.Profile.Channels)
	m.ManagedAttributes = slices.Clone(m.ManagedAttributes)
	return m
}

// normalizeMember makes empty lists nil, as they read back.
func normalizeMember(m repository.Member) repository.Member {
	m.Emails = nilIfEmpty(m.Emails)
	m.PhoneNumbers = nilIfEmpty(m.PhoneNumbers)
	m.Addresses = nilIfEmpty(m.Addresses)
	m.Roles = nilIfEmpty(m.Roles)
	m.OptionalPermissions = nilIfEmpty(m.OptionalPermissions)
	m.Profile.Expertise = nilIfEmpty(m.Profile.Expertise)
	m.Profile.Channels = nilIfEmpty(m.Profile.Channels)
	m.ManagedAttributes = nilIfEmpty(m.ManagedAttributes)
	return m
}

func nilIfEmpty[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return s
}

// ListMembers lists the members q selects, with their groups when
// q.WithGroups: one query for the page and the multi-valued attributes of
// its members (and whether each is in a group), one for the groups of
// those that are, and a COUNT only when the page does not tell the total.
func (s *Store) ListMembers(ctx context.Context, accountID string, q repository.Query) (repository.Page[repository.Member], error) {
	var page repository.Page[repository.Member]
	p, err := memberList.plan(accountID, q)
	if err != nil {
		return page, err
	}
	// The page and the total come from one snapshot. When one statement
	// tells both (an eq on a unique attribute, an IdP's usual question)
	// or only the total is asked for, it needs no read transaction.
	read := s.read
	if p.single(q) {
		read = func(ctx context.Context, fn func(h handle) error) error { return fn(s.reader(ctx)) }
	} else {
		s.warm(ctx, p.page, p.count)
	}
	err = read(ctx, func(h handle) error {
		var rows []*memberRow
		var grouped []string // ids of the page's members in some group
		if p.limit > 0 {
			res, err := h.query(ctx, p.page, p.pageArgs...)
			if err != nil {
				return err
			}
			defer res.Close()
			for res.Next() {
				r := new(memberRow)
				var extra []any
				var inGroups bool
				if q.WithGroups {
					extra = append(extra, &inGroups)
				}
				if p.sorted {
					extra = append(extra, &r.key)
				}
				if err := scanMember(res, r, extra...); err != nil {
					return err
				}
				if inGroups && len(rows) < p.limit {
					grouped = append(grouped, r.m.ID)
				}
				rows = append(rows, r)
				if len(rows) > p.limit {
					break
				}
			}
			if err := errors.Join(res.Err(), res.Close()); err != nil {
				return err
			}
			if len(rows) > p.limit {
				rows = rows[:p.limit]
				last := rows[len(rows)-1]
				page.NextCursor = p.nextCursor(last.m.ID, last.key)
			}
		}
		switch total, ok := p.total(q, len(rows)); {
		case ok:
			page.Total = total
		case q.Filter == nil:
			// The account keeps its member count.
			if err := h.queryRow(ctx, []any{&page.Total}, qMemberCount, accountID); err != nil && !errors.Is(err, sql.ErrNoRows) {
				return err
			}
		default:
			if err := h.queryRow(ctx, []any{&page.Total}, p.count, p.countArgs...); err != nil {
				return err
			}
		}
		groups, err := groupsOfMembers(ctx, h, accountID, grouped)
		if err != nil {
			return err
		}
		page.Items = make([]repository.Member, len(rows))
		for i, r := range rows {
			page.Items[i] = r.m
			page.Items[i].Groups = groups[r.m.ID]
		}
		return nil
	})
	if err != nil {
		return repository.Page[repository.Member]{}, wrap("list members", err)
	}
	return page, nil
}
