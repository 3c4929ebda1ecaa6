package mongo

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/rosterhq/roster/repository"
)

// nextMeta is the Meta of the version written after cur.
func nextMeta(cur repository.Meta) repository.Meta {
	return repository.Meta{Version: cur.Version + 1, CreatedAt: cur.CreatedAt, UpdatedAt: now()}
}

// byVersion is the compare-and-swap filter of an update.
func byVersion(accountID, id string, version int64) bson.D {
	return bson.D{{Key: "_id", Value: id}, {Key: "accountId", Value: accountID}, {Key: "version", Value: version}}
}

// CreateMember stores m, filling ID when empty and Meta.
func (s *Store) CreateMember(ctx context.Context, m repository.Member) (repository.Member, error) {
	if m.ID == "" {
		m.ID = repository.NewID()
	}
	t := now()
	m.Meta = repository.Meta{Version: 1, CreatedAt: t, UpdatedAt: t}
	doc := memberToDoc(m)
	if _, err := s.members.InsertOne(ctx, doc); err != nil {
		if isDup(err) {
			return repository.Member{}, fmt.Errorf("create member: %w", conflict(ctx, s.members, "member", memberKeys, doc, err))
		}
		return repository.Member{}, fmt.Errorf("create member: %w", err)
	}
	return doc.record(), nil
}

// GetMember returns one member of the account.
func (s *Store) GetMember(ctx context.Context, accountID, id string) (repository.Member, error) {
	var d memberDoc
	ok, err := s.findOwned(ctx, s.members, accountID, id, &d)
	if err != nil {
		return repository.Member{}, fmt.Errorf("get member: %w", err)
	}
	if !ok {
		return repository.Member{}, notFound("member", id)
	}
	return d.record(), nil
}

// GetMemberByUserName finds a member by userName, ignoring case, through
// the unique (accountId, userNameLower) index.
func (s *Store) GetMemberByUserName(ctx context.Context, accountID, userName string) (repository.Member, error) {
	var d memberDoc
	filter := bson.D{{Key: "accountId", Value: accountID}, {Key: "userNameLower", Value: fold(userName)}}
	if err := s.members.FindOne(ctx, filter).Decode(&d); err != nil {
		if isNoDocs(err) {
			return repository.Member{}, notFound("member with userName", userName)
		}
		return repository.Member{}, fmt.Errorf("get member by userName: %w", err)
	}
	return d.record(), nil
}

// UpdateMember applies fn and writes the result with a compare-and-swap on
// the version.
func (s *Store) UpdateMember(ctx context.Context, accountID, id string, fn func(repository.Member) (repository.Member, error)) (repository.Member, error) {
	load := func(ctx context.Context) (repository.Member, error) {
		return s.GetMember(ctx, accountID, id)
	}
	write := func(ctx context.Context, cur, m repository.Member) (repository.Member, bool, error) {
		m.AccountID, m.ID = accountID, id
		m.Meta = nextMeta(cur.Meta)
		doc := memberToDoc(m)
		res, err := s.members.ReplaceOne(ctx, byVersion(accountID, id, cur.Version), doc)
		if err != nil {
			if isDup(err) {
				return m, false, fmt.Errorf("update member: %w", conflict(ctx, s.members, "member", memberKeys, doc, err))
			}
			return m, false, fmt.Errorf("update member: %w", err)
		}
		return doc.record(), res.MatchedCount == 1, nil
	}
	m, err := casUpdate(ctx, load, fn, write)
	if err != nil {
		return repository.Member{}, wrapUpdate("member", err)
	}
	return m, nil
}

// DeleteMember removes the member, its group edges, its seat, its
// sessions and its identity links (in one transaction where the server
// has them; otherwise the member goes last, so a retry after a crash
// finishes the job).
func (s *Store) DeleteMember(ctx context.Context, accountID, id string) error {
	return s.InTx(ctx, func(ctx context.Context) error {
		ok, err := s.findOwned(ctx, s.members, accountID, id, nil)
		if err != nil {
			return fmt.Errorf("delete member: %w", err)
		}
		if !ok {
			return notFound("member", id)
		}
		if _, err := s.seats.DeleteOne(ctx, byID(accountID, pairID(accountID, id))); err != nil {
			return fmt.Errorf("delete member seat: %w", err)
		}
		owned := bson.D{{Key: "accountId", Value: accountID}, {Key: "memberId", Value: id}}
		if _, err := s.sessions.DeleteMany(ctx, owned); err != nil {
			return fmt.Errorf("delete member sessions: %w", err)
		}
		if _, err := s.edges.DeleteMany(ctx, owned); err != nil {
			return fmt.Errorf("delete member edges: %w", err)
		}
		if _, err := s.links.DeleteMany(ctx, owned); err != nil {
			return fmt.Errorf("delete member identity links: %w", err)
		}
		if _, err := s.members.DeleteOne(ctx, byID(accountID, id)); err != nil {
			return fmt.Errorf("delete member: %w", err)
		}
		return nil
	})
}

// ListMembers runs a query over the account's members: one count and one
// find per page (plus one indexed edge read when it filters on groups).
func (s *Store) ListMembers(ctx context.Context, accountID string, q repository.Query) (repository.Page[repository.Member], error) {
	if err := repository.ValidateQuery(q, repository.MemberFields); err != nil {
		return repository.Page[repository.Member]{}, err
	}
	res, err := s.list(ctx, s.members, memberCatalog, accountID, q)
	if err != nil {
		return repository.Page[repository.Member]{}, err
	}
	page := repository.Page[repository.Member]{Total: res.total, NextCursor: res.nextCursor}
	page.Items = make([]repository.Member, 0, len(res.docs))
	for _, raw := range res.docs {
		var d memberDoc
		if err := bson.Unmarshal(raw, &d); err != nil {
			return repository.Page[repository.Member]{}, fmt.Errorf("decode member: %w", err)
		}
		page.Items = append(page.Items, d.record())
	}
	if q.WithGroups {
		if err := repository.FillGroups(ctx, s.GroupsOfMembers, accountID, page.Items); err != nil {
			return repository.Page[repository.Member]{}, err
		}
	}
	return page, nil
}

// GroupsOfMembers returns each member's groups (ordered by display name,
// then id) with two reads: the members' edges, then the groups' names.
func (s *Store) GroupsOfMembers(ctx context.Context, accountID string, memberIDs []string) (map[string][]repository.GroupRef, error) {
	out := make(map[string][]repository.GroupRef, len(memberIDs))
	if len(memberIDs) == 0 {
		return out, nil
	}
	var edges []edgeDoc
	cur, err := s.edges.Find(ctx, bson.D{
		{Key: "accountId", Value: accountID},
		{Key: "memberId", Value: bson.D{{Key: "$in", Value: memberIDs}}},
	})
	if err != nil {
		return nil, fmt.Errorf("groups of members: %w", err)
	}
	if err := cur.All(ctx, &edges); err != nil {
		return nil, fmt.Errorf("groups of members: %w", err)
	}
	groupIDs := make([]string, 0, len(edges))
	for _, e := range edges {
		groupIDs = append(groupIDs, e.GroupID)
	}
	names, err := s.groupNames(ctx, accountID, groupIDs)
	if err != nil {
		return nil, fmt.Errorf("groups of members: %w", err)
	}
	for _, e := range edges {
		name, ok := names[e.GroupID]
		if !ok {
			continue // the group is being deleted
		}
		out[e.MemberID] = append(out[e.MemberID], repository.GroupRef{GroupID: e.GroupID, DisplayName: name})
	}
	for _, refs := range out {
		slices.SortFunc(refs, func(a, b repository.GroupRef) int {
			if c := strings.Compare(fold(a.DisplayName), fold(b.DisplayName)); c != 0 {
				return c
			}
			return strings.Compare(a.GroupID, b.GroupID)
		})
	}
	return out, nil
}

// groupNames returns the display names of the given groups of the account.
func (s *Store) groupNames(ctx context.Context, accountID string, ids []string) (map[string]string, error) {
	return s.namesOf(ctx, s.groups, accountID, ids)
}

// namesOf reads the displayName of the given records of the account.
func (s *Store) namesOf(ctx context.Context, coll *mongo.Collection, accountID string, ids []string) (map[string]string, error) {
	docs, err := s.findOwnedMany(ctx, coll, accountID, ids, bson.D{{Key: "accountId", Value: 1}, {Key: "displayName", Value: 1}})
	if err != nil {
		return nil, err
	}
	names := make(map[string]string, len(docs))
	for _, d := range docs {
		id, _ := d.Lookup("_id").StringValueOK()
		name, _ := d.Lookup("displayName").StringValueOK()
		names[id] = name
	}
	return names, nil
}

// chunk bounds the $in lists of batched reads and writes.
const chunk = 1000

// uniq returns ids without repeats, in first-seen order.
func uniq(ids []string) []string {
	seen := make(map[string]bool, len(ids))
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// wrapUpdate adds the operation to an update error, leaving the errors of
// the caller's fn and the sentinels recognisable with errors.Is.
func wrapUpdate(kind string, err error) error {
	if err == repository.ErrVersionMismatch {
		return fmt.Errorf("update %s: %w", kind, err)
	}
	return err
}
