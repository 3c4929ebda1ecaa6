package mongo

import (
	"context"
	"errors"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/rosterhq/roster/repository"
)

// uniqueKey describes one unique index and the attribute a collision on it
// is reported as.
type uniqueKey struct {
	index  string   // index name, as created by ensureIndexes
	fields []string // indexed document fields
	attr   string   // attribute named in the *repository.ConflictError
}

// Unique keys of each kind, in the order a collision is looked for.
var (
	memberKeys = []uniqueKey{
		{index: "member_userName", fields: []string{"accountId", "userNameLower"}, attr: "userName"},
		{index: "member_externalId", fields: []string{"accountId", "externalIdKey"}, attr: "externalId"},
	}
	groupKeys = []uniqueKey{
		{index: "group_displayName", fields: []string{"accountId", "displayNameLower"}, attr: "displayName"},
		{index: "group_externalId", fields: []string{"accountId", "externalIdKey"}, attr: "externalId"},
	}
	roleKeys       = []uniqueKey{{index: "role_key", fields: []string{"accountId", "keyLower"}, attr: "key"}}
	accountKeys    = []uniqueKey{{index: "account_name", fields: []string{"nameLower"}, attr: "name"}}
	tokenKeys      = []uniqueKey{{index: "token_hash", fields: []string{"hashKey"}, attr: "hash"}}
	sessionKeys    = []uniqueKey{{index: "session_hash", fields: []string{"hashKey"}, attr: "hash"}}
	invitationKeys = []uniqueKey{{index: "invitation_token", fields: []string{"tokenHashKey"}, attr: "tokenHash"}}
)

// isDup reports a unique index violation. MongoDB reports it as a duplicate
// key error (11000); FerretDB does so for inserts but reports an update
// that violates a unique index as an internal error carrying SQLite's
// "UNIQUE constraint failed" message.
func isDup(err error) bool {
	if err == nil {
		return false
	}
	if mongo.IsDuplicateKeyError(err) {
		return true
	}
	var se mongo.ServerError
	return errors.As(err, &se) && strings.Contains(err.Error(), "UNIQUE constraint failed")
}

// dupIndex finds which of keys a duplicate-key error names. MongoDB writes
// "... index: NAME dup key: ..."; FerretDB writes SQLite's
// "index 'TABLE_NAME'" for updates and no index at all for inserts.
func dupIndex(err error, keys []uniqueKey) (uniqueKey, bool) {
	msg := err.Error()
	for _, k := range keys {
		if strings.Contains(msg, "index: "+k.index+" ") || strings.Contains(msg, "_"+k.index+"'") {
			return k, true
		}
	}
	return uniqueKey{}, false
}

// conflict turns a duplicate-key error from writing doc into coll into a
// *repository.ConflictError naming the attribute. When the server does not
// name the index (FerretDB inserts), it looks for the document that holds
// one of doc's unique values; a collision on none of them is one on the id.
func conflict(ctx context.Context, coll *mongo.Collection, kind string, keys []uniqueKey, doc any, err error) error {
	if k, ok := dupIndex(err, keys); ok {
		return repository.NewConflict(kind, k.attr)
	}
	if strings.Contains(err.Error(), "index: _id_ ") {
		return repository.NewConflict(kind, "id")
	}
	raw, merr := bson.Marshal(doc)
	if merr != nil {
		return repository.NewConflict(kind, "id")
	}
	id := bson.Raw(raw).Lookup("_id")
	for _, k := range keys {
		filter := bson.D{{Key: "_id", Value: bson.D{{Key: "$ne", Value: id}}}}
		for _, f := range k.fields {
			v, lerr := bson.Raw(raw).LookupErr(strings.Split(f, ".")...)
			if lerr != nil {
				filter = append(filter, bson.E{Key: f, Value: nil})
				continue
			}
			filter = append(filter, bson.E{Key: f, Value: v})
		}
		n, cerr := coll.CountDocuments(ctx, filter, options.Count().SetLimit(1))
		if cerr == nil && n > 0 {
			return repository.NewConflict(kind, k.attr)
		}
	}
	return repository.NewConflict(kind, "id")
}
