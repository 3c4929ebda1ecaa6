package mongo

import (
	"fmt"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/rosterhq/roster/repository"
)

func TestZZTiming(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	a, _ := s.CreateAccount(ctx, repository.Account{Name: "x", Seats: repository.SeatSettings{Total: 10}})
	var docs []any
	var ids []string
	for i := range 5000 {
		m := repository.Member{ID: repository.NewID(), AccountID: a.ID, UserName: fmt.Sprintf("big-%06d@example.com", i), Emails: []repository.Email{{Value: "x"}}}
		docs = append(docs, memberToDoc(m))
		ids = append(ids, m.ID)
	}
	s.members.InsertMany(ctx, docs)
	g, _ := s.CreateGroup(ctx, repository.Group{AccountID: a.ID, DisplayName: "g"})
	var edges []any
	for _, id := range ids[:4999] {
		edges = append(edges, edgeDoc{ID: pairID(g.ID, id), AccountID: a.ID, GroupID: g.ID, MemberID: id})
	}
	s.edges.InsertMany(ctx, edges)
	tm := func(name string, f func()) {
		start := time.Now()
		f()
		t.Logf("%s: %s", name, time.Since(start))
	}
	tm("getGroupDoc", func() { s.getGroupDoc(ctx, a.ID, g.ID) })
	tm("getGroupDoc by _id only", func() { s.groups.FindOne(ctx, bson.D{{Key: "_id", Value: g.ID}}) })
	tm("membersExist 1", func() { s.membersExist(ctx, a.ID, ids[4999:]) })
	tm("member by _id+acc", func() { s.GetMember(ctx, a.ID, ids[4000]) })
	tm("member by _id only", func() { s.members.FindOne(ctx, bson.D{{Key: "_id", Value: ids[4000]}}) })
	tm("member by _id $in", func() { s.members.Find(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids[:1]}}}}) })
	tm("addEdges 1", func() { s.addEdges(ctx, a.ID, g.ID, ids[4999:]) })
	tm("bump", func() { s.bumpGroup(ctx, a.ID, g.ID) })
	tm("membersExist 1000", func() { s.membersExist(ctx, a.ID, ids[:1000]) })
	tm("addEdges 1000 existing", func() { s.addEdges(ctx, a.ID, g.ID, ids[:1000]) })
	tm("count by userName", func() { s.GetMemberByUserName(ctx, a.ID, "big-000100@example.com") })
	tm("edgeIDs", func() {
		c := &compiler{edges: s.edges, accountID: a.ID, cat: memberCatalog}
		c.edgeIDs(ctx, bson.D{{Key: "groupId", Value: g.ID}})
	})
	tm("count in 5000", func() { s.members.CountDocuments(ctx, bson.D{{Key: "accountId", Value: a.ID}, {Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}}) })
	tm("count all", func() { s.members.CountDocuments(ctx, bson.D{{Key: "accountId", Value: a.ID}}) })
}
