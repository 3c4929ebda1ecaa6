package mongo

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// Lookups by id. MongoDB gets {_id, accountId}: the _id index answers it
// and a cluster sharded on accountId routes it to one shard. FerretDB
// pushes only a filter on _id alone down to SQLite and scans the whole
// collection for anything else, so there the lookup is by _id and the
// account is checked here. Either way a document of another account is
// not found.

// byID is the filter of one record of an account.
func byID(accountID, id string) bson.D {
	return bson.D{{Key: "_id", Value: id}, {Key: "accountId", Value: accountID}}
}

// findOwned decodes into out (when not nil) the document id of the
// account and reports whether there is one.
func (s *Store) findOwned(ctx context.Context, coll *mongo.Collection, accountID, id string, out any) (bool, error) {
	filter := byID(accountID, id)
	if s.ferret {
		filter = bson.D{{Key: "_id", Value: id}}
	}
	raw, err := coll.FindOne(ctx, filter).Raw()
	if isNoDocs(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if acc, _ := raw.Lookup("accountId").StringValueOK(); acc != accountID {
		return false, nil
	}
	if out != nil {
		if err := bson.Unmarshal(raw, out); err != nil {
			return false, err
		}
	}
	return true, nil
}

// fewForLookups is how many ids FerretDB looks up one by one (each an
// _id lookup SQLite answers from its primary key) rather than with one
// scanning $in.
const fewForLookups = 16

// findOwnedMany returns the documents of the account among ids, projected,
// in no particular order: $in queries in chunks, so no query carries an
// unbounded list.
func (s *Store) findOwnedMany(ctx context.Context, coll *mongo.Collection, accountID string, ids []string, projection bson.D) ([]bson.Raw, error) {
	ids = uniq(ids)
	var out []bson.Raw
	if s.ferret && len(ids) <= fewForLookups {
		for _, id := range ids {
			var raw bson.Raw
			ok, err := s.findOwned(ctx, coll, accountID, id, &raw)
			if err != nil {
				return nil, err
			}
			if ok {
				out = append(out, raw)
			}
		}
		return out, nil
	}
	for start := 0; start < len(ids); start += chunk {
		part := ids[start:min(start+chunk, len(ids))]
		cur, err := coll.Find(ctx, bson.D{
			{Key: "accountId", Value: accountID},
			{Key: "_id", Value: bson.D{{Key: "$in", Value: part}}},
		}, options.Find().SetProjection(projection))
		if err != nil {
			return nil, err
		}
		var docs []bson.Raw
		if err := cur.All(ctx, &docs); err != nil {
			return nil, err
		}
		out = append(out, docs...)
	}
	return out, nil
}
