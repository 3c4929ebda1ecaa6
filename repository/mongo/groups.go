package mongo

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/rosterhq/roster/repository"
)

// Membership edges live in group_members, one document per (group, member)
// with _id pairID(groupID, memberID), never as an array in the group. Adding
// or removing one member is one indexed upsert or delete plus a version bump
// of the group document, whatever the group's size.

// CreateGroup stores g and the edges of g.Members; every member must be a
// member of the account.
func (s *Store) CreateGroup(ctx context.Context, g repository.Group) (repository.Group, error) {
	if g.ID == "" {
		g.ID = repository.NewID()
	}
	t := now()
	g.Meta = repository.Meta{Version: 1, CreatedAt: t, UpdatedAt: t}
	memberIDs := make([]string, 0, len(g.Members))
	for _, m := range g.Members {
		memberIDs = append(memberIDs, m.MemberID)
	}
	memberIDs = uniq(memberIDs)
	doc := groupToDoc(g)
	var names map[string]string
	err := s.InTx(ctx, func(ctx context.Context) error {
		var err error
		names, err = s.membersExist(ctx, g.AccountID, memberIDs)
		if err != nil {
			return err
		}
		if _, err := s.groups.InsertOne(ctx, doc); err != nil {
			if isDup(err) {
				return conflict(ctx, s.groups, "group", groupKeys, doc, err)
			}
			return err
		}
		_, err = s.addEdges(ctx, g.AccountID, g.ID, memberIDs)
		return err
	})
	if err != nil {
		return repository.Group{}, fmt.Errorf("create group: %w", err)
	}
	out := doc.record()
	out.Members = membersSorted(memberIDs, names)
	return out, nil
}

// membersSorted lists edges in member id order with display names.
func membersSorted(ids []string, names map[string]string) []repository.GroupMember {
	if len(ids) == 0 {
		return nil
	}
	out := make([]repository.GroupMember, 0, len(ids))
	for _, id := range ids {
		out = append(out, repository.GroupMember{MemberID: id, DisplayName: names[id]})
	}
	slices.SortFunc(out, func(a, b repository.GroupMember) int { return strings.Compare(a.MemberID, b.MemberID) })
	return out
}

func (s *Store) getGroupDoc(ctx context.Context, accountID, id string) (groupDoc, error) {
	var d groupDoc
	ok, err := s.findOwned(ctx, s.groups, accountID, id, &d)
	if err != nil {
		return groupDoc{}, fmt.Errorf("get group: %w", err)
	}
	if !ok {
		return groupDoc{}, notFound("group", id)
	}
	return d, nil
}

// GetGroup returns the group, with its members (in member id order) when
// withMembers.
func (s *Store) GetGroup(ctx context.Context, accountID, id string, withMembers bool) (repository.Group, error) {
	d, err := s.getGroupDoc(ctx, accountID, id)
	if err != nil {
		return repository.Group{}, err
	}
	g := d.record()
	if withMembers {
		members, err := s.membersOfGroups(ctx, accountID, []string{id})
		if err != nil {
			return repository.Group{}, fmt.Errorf("get group: %w", err)
		}
		g.Members = members[id]
	}
	return g, nil
}

// UpdateGroup applies fn to the group's own attributes (its Members are
// ignored) with a compare-and-swap on the version.
func (s *Store) UpdateGroup(ctx context.Context, accountID, id string, fn func(repository.Group) (repository.Group, error)) (repository.Group, error) {
	load := func(ctx context.Context) (repository.Group, error) {
		d, err := s.getGroupDoc(ctx, accountID, id)
		return d.record(), err
	}
	write := func(ctx context.Context, cur, g repository.Group) (repository.Group, bool, error) {
		g.AccountID, g.ID, g.Members = accountID, id, nil
		g.Meta = nextMeta(cur.Meta)
		doc := groupToDoc(g)
		res, err := s.groups.ReplaceOne(ctx, byVersion(accountID, id, cur.Version), doc)
		if err != nil {
			if isDup(err) {
				return g, false, fmt.Errorf("update group: %w", conflict(ctx, s.groups, "group", groupKeys, doc, err))
			}
			return g, false, fmt.Errorf("update group: %w", err)
		}
		return doc.record(), res.MatchedCount == 1, nil
	}
	g, err := casUpdate(ctx, load, fn, write)
	if err != nil {
		return repository.Group{}, wrapUpdate("group", err)
	}
	return g, nil
}

// DeleteGroup removes the group and its edges (edges first, so a retry
// after a crash finishes the job).
func (s *Store) DeleteGroup(ctx context.Context, accountID, id string) error {
	return s.InTx(ctx, func(ctx context.Context) error {
		if _, err := s.getGroupDoc(ctx, accountID, id); err != nil {
			return fmt.Errorf("delete group: %w", err)
		}
		if _, err := s.edges.DeleteMany(ctx, bson.D{{Key: "accountId", Value: accountID}, {Key: "groupId", Value: id}}); err != nil {
			return fmt.Errorf("delete group edges: %w", err)
		}
		if _, err := s.groups.DeleteOne(ctx, byID(accountID, id)); err != nil {
			return fmt.Errorf("delete group: %w", err)
		}
		return nil
	})
}

// ListGroups runs a query over the account's groups; with members, one more
// read fetches the page's edges and one the members' names.
func (s *Store) ListGroups(ctx context.Context, accountID string, q repository.Query, withMembers bool) (repository.Page[repository.Group], error) {
	if err := repository.ValidateQuery(q, repository.GroupFields); err != nil {
		return repository.Page[repository.Group]{}, err
	}
	res, err := s.list(ctx, s.groups, groupCatalog, accountID, q)
	if err != nil {
		return repository.Page[repository.Group]{}, err
	}
	page := repository.Page[repository.Group]{Total: res.total, NextCursor: res.nextCursor}
	page.Items = make([]repository.Group, 0, len(res.docs))
	ids := make([]string, 0, len(res.docs))
	for _, raw := range res.docs {
		var d groupDoc
		if err := bson.Unmarshal(raw, &d); err != nil {
			return repository.Page[repository.Group]{}, fmt.Errorf("decode group: %w", err)
		}
		page.Items = append(page.Items, d.record())
		ids = append(ids, d.ID)
	}
	if withMembers && len(ids) > 0 {
		members, err := s.membersOfGroups(ctx, accountID, ids)
		if err != nil {
			return repository.Page[repository.Group]{}, fmt.Errorf("list groups: %w", err)
		}
		for i := range page.Items {
			page.Items[i].Members = members[page.Items[i].ID]
		}
	}
	return page, nil
}

// membersOfGroups returns the edges of the given groups in member id order,
// with the members' display names.
func (s *Store) membersOfGroups(ctx context.Context, accountID string, groupIDs []string) (map[string][]repository.GroupMember, error) {
	cur, err := s.edges.Find(ctx, bson.D{
		{Key: "accountId", Value: accountID},
		{Key: "groupId", Value: bson.D{{Key: "$in", Value: groupIDs}}},
	}, options.Find().SetSort(bson.D{{Key: "groupId", Value: 1}, {Key: "memberId", Value: 1}}))
	if err != nil {
		return nil, err
	}
	var edges []edgeDoc
	if err := cur.All(ctx, &edges); err != nil {
		return nil, err
	}
	return s.edgesWithNames(ctx, accountID, edges)
}

func (s *Store) edgesWithNames(ctx context.Context, accountID string, edges []edgeDoc) (map[string][]repository.GroupMember, error) {
	memberIDs := make([]string, 0, len(edges))
	for _, e := range edges {
		memberIDs = append(memberIDs, e.MemberID)
	}
	names, err := s.namesOf(ctx, s.members, accountID, memberIDs)
	if err != nil {
		return nil, err
	}
	out := map[string][]repository.GroupMember{}
	for _, e := range edges {
		out[e.GroupID] = append(out[e.GroupID], repository.GroupMember{MemberID: e.MemberID, DisplayName: names[e.MemberID]})
	}
	return out, nil
}

// AddGroupMembers adds edges, leaving existing ones, after checking every
// member belongs to the account. It bumps the group's version when an edge
// was added and returns how many were.
func (s *Store) AddGroupMembers(ctx context.Context, accountID, groupID string, memberIDs []string) (int, error) {
	var added int
	err := s.InTx(ctx, func(ctx context.Context) error {
		if _, err := s.getGroupDoc(ctx, accountID, groupID); err != nil {
			return err
		}
		ids := uniq(memberIDs)
		if _, err := s.membersExist(ctx, accountID, ids); err != nil {
			return err
		}
		var err error
		if added, err = s.addEdges(ctx, accountID, groupID, ids); err != nil {
			return err
		}
		if added > 0 {
			return s.bumpGroup(ctx, accountID, groupID)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("add group members: %w", err)
	}
	return added, nil
}

// RemoveGroupMembers removes edges, ignoring absent ones. It bumps the
// group's version when an edge was removed and returns how many were.
func (s *Store) RemoveGroupMembers(ctx context.Context, accountID, groupID string, memberIDs []string) (int, error) {
	var removed int
	err := s.InTx(ctx, func(ctx context.Context) error {
		if _, err := s.getGroupDoc(ctx, accountID, groupID); err != nil {
			return err
		}
		var err error
		if removed, err = s.removeEdges(ctx, accountID, groupID, uniq(memberIDs)); err != nil {
			return err
		}
		if removed > 0 {
			return s.bumpGroup(ctx, accountID, groupID)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("remove group members: %w", err)
	}
	return removed, nil
}

// ReplaceGroupMembers makes memberIDs the exact membership: it streams the
// current edges once, then removes and adds only the difference in chunks.
func (s *Store) ReplaceGroupMembers(ctx context.Context, accountID, groupID string, memberIDs []string) error {
	err := s.InTx(ctx, func(ctx context.Context) error {
		if _, err := s.getGroupDoc(ctx, accountID, groupID); err != nil {
			return err
		}
		want := uniq(memberIDs)
		if _, err := s.membersExist(ctx, accountID, want); err != nil {
			return err
		}
		wanted := make(map[string]bool, len(want))
		for _, id := range want {
			wanted[id] = true
		}
		cur, err := s.edges.Find(ctx, bson.D{{Key: "accountId", Value: accountID}, {Key: "groupId", Value: groupID}},
			options.Find().SetProjection(bson.D{{Key: "memberId", Value: 1}}))
		if err != nil {
			return err
		}
		var edges []edgeDoc
		if err := cur.All(ctx, &edges); err != nil {
			return err
		}
		var stale []string
		for _, e := range edges {
			if wanted[e.MemberID] {
				delete(wanted, e.MemberID)
			} else {
				stale = append(stale, e.MemberID)
			}
		}
		missing := make([]string, 0, len(wanted))
		for _, id := range want {
			if wanted[id] {
				missing = append(missing, id)
			}
		}
		removed, err := s.removeEdges(ctx, accountID, groupID, stale)
		if err != nil {
			return err
		}
		added, err := s.addEdges(ctx, accountID, groupID, missing)
		if err != nil {
			return err
		}
		if removed+added > 0 {
			return s.bumpGroup(ctx, accountID, groupID)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("replace group members: %w", err)
	}
	return nil
}

// ListGroupMembers pages through a group's edges in member id order after
// afterID; limit <= 0 means no limit.
func (s *Store) ListGroupMembers(ctx context.Context, accountID, groupID, afterID string, limit int) ([]repository.GroupMember, error) {
	if _, err := s.getGroupDoc(ctx, accountID, groupID); err != nil {
		return nil, fmt.Errorf("list group members: %w", err)
	}
	filter := bson.D{{Key: "accountId", Value: accountID}, {Key: "groupId", Value: groupID}}
	if afterID != "" {
		filter = append(filter, bson.E{Key: "memberId", Value: bson.D{{Key: "$gt", Value: afterID}}})
	}
	opts := options.Find().SetSort(bson.D{{Key: "memberId", Value: 1}})
	if limit > 0 {
		opts.SetLimit(int64(limit))
	}
	cur, err := s.edges.Find(ctx, filter, opts)
	if err != nil {
		return nil, fmt.Errorf("list group members: %w", err)
	}
	var edges []edgeDoc
	if err := cur.All(ctx, &edges); err != nil {
		return nil, fmt.Errorf("list group members: %w", err)
	}
	byGroup, err := s.edgesWithNames(ctx, accountID, edges)
	if err != nil {
		return nil, fmt.Errorf("list group members: %w", err)
	}
	out := byGroup[groupID]
	if out == nil {
		out = []repository.GroupMember{}
	}
	return out, nil
}

// membersExist checks every id is a member of the account (one projected
// read per chunk) and returns their display names.
func (s *Store) membersExist(ctx context.Context, accountID string, ids []string) (map[string]string, error) {
	names, err := s.namesOf(ctx, s.members, accountID, ids)
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		if _, ok := names[id]; !ok {
			return nil, notFound("member", id)
		}
	}
	return names, nil
}

// addEdges inserts the edges that do not exist yet, in chunks, and returns
// how many it inserted. It reads the chunk's existing edges first (by _id)
// instead of upserting, because FerretDB v1.24 holds a connection per
// matched statement of a multi-statement update until the command ends and
// deadlocks on a large batch of existing edges. An edge inserted
// concurrently by someone else (a duplicate key) is simply not new.
func (s *Store) addEdges(ctx context.Context, accountID, groupID string, memberIDs []string) (int, error) {
	added := 0
	for start := 0; start < len(memberIDs); start += chunk {
		part := memberIDs[start:min(start+chunk, len(memberIDs))]
		ids := make([]string, len(part))
		for i, m := range part {
			ids[i] = pairID(groupID, m)
		}
		existing, err := s.findOwnedMany(ctx, s.edges, accountID, ids, bson.D{{Key: "accountId", Value: 1}})
		if err != nil {
			return added, fmt.Errorf("add edges: %w", err)
		}
		have := make(map[string]bool, len(existing))
		for _, e := range existing {
			id, _ := e.Lookup("_id").StringValueOK()
			have[id] = true
		}
		var docs []any
		for i, m := range part {
			if !have[ids[i]] {
				docs = append(docs, edgeDoc{ID: ids[i], AccountID: accountID, GroupID: groupID, MemberID: m})
			}
		}
		if len(docs) == 0 {
			continue
		}
		_, err = s.edges.InsertMany(ctx, docs, options.InsertMany().SetOrdered(false))
		inserted := len(docs)
		if err != nil {
			var bwe mongo.BulkWriteException
			if !onlyDuplicates(err) || !errors.As(err, &bwe) {
				return added, fmt.Errorf("add edges: %w", err)
			}
			inserted -= len(bwe.WriteErrors)
		}
		added += inserted
	}
	return added, nil
}

// onlyDuplicates reports a bulk write whose every failure is a duplicate
// key.
func onlyDuplicates(err error) bool {
	var bwe mongo.BulkWriteException
	if !errors.As(err, &bwe) || bwe.WriteConcernError != nil || len(bwe.WriteErrors) == 0 {
		return false
	}
	for _, we := range bwe.WriteErrors {
		if we.Code != 11000 {
			return false
		}
	}
	return true
}

// removeEdges deletes edges in chunks and returns how many existed.
func (s *Store) removeEdges(ctx context.Context, accountID, groupID string, memberIDs []string) (int, error) {
	removed := 0
	for start := 0; start < len(memberIDs); start += chunk {
		part := memberIDs[start:min(start+chunk, len(memberIDs))]
		res, err := s.edges.DeleteMany(ctx, bson.D{
			{Key: "accountId", Value: accountID},
			{Key: "groupId", Value: groupID},
			{Key: "memberId", Value: bson.D{{Key: "$in", Value: part}}},
		})
		if err != nil {
			return removed, fmt.Errorf("remove edges: %w", err)
		}
		removed += int(res.DeletedCount)
	}
	return removed, nil
}

// bumpGroup records a membership change on the group: version + 1 and a
// new lastModified, so ETags change.
func (s *Store) bumpGroup(ctx context.Context, accountID, groupID string) error {
	_, err := s.groups.UpdateOne(ctx, byID(accountID, groupID), bson.D{
		{Key: "$inc", Value: bson.D{{Key: "version", Value: 1}}},
		{Key: "$set", Value: bson.D{{Key: "updatedAt", Value: now()}}},
	})
	if err != nil {
		return fmt.Errorf("bump group version: %w", err)
	}
	return nil
}
