package mongo

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// indexSpec is one index of a collection. Names are explicit so that
// creation is idempotent and duplicate-key errors can be mapped back to the
// attribute they protect.
type indexSpec struct {
	name   string
	keys   bson.D
	unique bool
	// ttl makes a TTL index (expire at the indexed date) where the server
	// has them; on FerretDB the index is not created at all.
	ttl bool
}

func asc(fields ...string) bson.D {
	d := make(bson.D, len(fields))
	for i, f := range fields {
		d[i] = bson.E{Key: f, Value: 1}
	}
	return d
}

// indexes lists every collection's indexes. Every index starts with
// accountId except the deployment-wide lookups (hashes, account name, SSO
// domains by _id) and the deployment-wide sweepers and queue (expiry,
// outbox due), whose callers have no account. One-time values, throttles
// and signing keys are deployment-wide and found by _id; an identity
// link's _id starts with its account (linkID).
func indexes() map[string][]indexSpec {
	return map[string][]indexSpec{
		collAccounts: {
			{name: "account_name", keys: asc("nameLower"), unique: true},
		},
		collMembers: {
			{name: "member_userName", keys: asc("accountId", "userNameLower"), unique: true},
			{name: "member_externalId", keys: asc("accountId", "externalIdKey"), unique: true},
			{name: "member_id", keys: asc("accountId", "_id")},
			{name: "member_displayName", keys: asc("accountId", "displayNameLower", "_id")},
			{name: "member_givenName", keys: asc("accountId", "name.givenNameLower", "_id")},
			{name: "member_familyName", keys: asc("accountId", "name.familyNameLower", "_id")},
			{name: "member_employeeNumber", keys: asc("accountId", "employeeNumberLower", "_id")},
			{name: "member_created", keys: asc("accountId", "createdAt", "_id")},
			{name: "member_updated", keys: asc("accountId", "updatedAt", "_id")},
			{name: "member_email", keys: asc("accountId", "emails.valueLower")},
			{name: "member_role", keys: asc("accountId", "rolesLower")},
			{name: "member_manager", keys: asc("accountId", "managerId")},
			{name: "member_pendingManager", keys: asc("accountId", "pendingManagerRef")},
			{name: "member_seatStatus", keys: asc("accountId", "seatStatusLower", "seatQueuedAt")},
		},
		collGroups: {
			{name: "group_displayName", keys: asc("accountId", "displayNameLower"), unique: true},
			{name: "group_externalId", keys: asc("accountId", "externalIdKey"), unique: true},
			{name: "group_id", keys: asc("accountId", "_id")},
			{name: "group_created", keys: asc("accountId", "createdAt", "_id")},
			{name: "group_updated", keys: asc("accountId", "updatedAt", "_id")},
		},
		collEdges: {
			{name: "edge_group", keys: asc("accountId", "groupId", "memberId"), unique: true},
			{name: "edge_member", keys: asc("accountId", "memberId", "groupId")},
		},
		collRoles: {
			{name: "role_key", keys: asc("accountId", "keyLower"), unique: true},
		},
		collSeats: {
			{name: "seat_slot", keys: asc("accountId", "slot"), unique: true},
		},
		collInvitations: {
			{name: "invitation_token", keys: asc("tokenHashKey"), unique: true},
			{name: "invitation_open", keys: asc("accountId", "open", "createdAt")},
			{name: "invitation_member", keys: asc("accountId", "memberId")},
		},
		collTokens: {
			{name: "token_hash", keys: asc("hashKey"), unique: true},
			{name: "token_account", keys: asc("accountId", "kind", "createdAt")},
			{name: "token_member", keys: asc("accountId", "memberId")},
		},
		collSessions: {
			{name: "session_hash", keys: asc("hashKey"), unique: true},
			{name: "session_member", keys: asc("accountId", "memberId")},
			{name: "session_expiry", keys: asc("expiresAt")},
		},
		collSSO: {
			{name: "sso_account", keys: asc("accountId", "createdAt")},
		},
		collSSODomains: {
			{name: "sso_domain_connection", keys: asc("accountId", "connectionId")},
		},
		collReplays: {
			{name: "replay_expiry", keys: asc("expiresAt"), ttl: true},
		},
		collAudit: {
			{name: "audit_time", keys: bson.D{{Key: "accountId", Value: 1}, {Key: "time", Value: -1}, {Key: "_id", Value: -1}}},
			{name: "audit_action", keys: bson.D{{Key: "accountId", Value: 1}, {Key: "action", Value: 1}, {Key: "time", Value: -1}}},
			{name: "audit_actor", keys: bson.D{{Key: "accountId", Value: 1}, {Key: "actorId", Value: 1}, {Key: "time", Value: -1}}},
			{name: "audit_target", keys: bson.D{{Key: "accountId", Value: 1}, {Key: "targetId", Value: 1}, {Key: "time", Value: -1}}},
		},
		collOutbox: {
			{name: "outbox_due", keys: asc("pending", "dueAt")},
			{name: "outbox_oldest", keys: asc("pending", "createdAt")},
			{name: "outbox_account", keys: asc("accountId", "createdAt")},
		},
		collOneTime: {
			{name: "one_time_expiry", keys: asc("expiresAt"), ttl: true},
		},
		collLinks: {
			{name: "identity_link_member", keys: asc("accountId", "memberId")},
			{name: "identity_link_connection", keys: asc("accountId", "connectionId")},
		},
		collSigningKeys: {
			{name: "signing_key_expiry", keys: asc("expiresAt")},
		},
		collThrottles: {
			{name: "throttle_expiry", keys: asc("expiresAt"), ttl: true},
		},
		collDeletions: nil,
	}
}

// ensureIndexes creates the indexes that do not exist yet, so it is safe
// at every start of every instance. It lists the existing ones first rather
// than relying on createIndexes ignoring them: FerretDB v1.24 crashes the
// connection when asked to create several indexes that already exist.
func (s *Store) ensureIndexes(ctx context.Context) error {
	for coll, specs := range indexes() {
		existing, err := s.indexNames(ctx, coll)
		if err != nil {
			return err
		}
		var models []mongo.IndexModel
		for _, sp := range specs {
			if existing[sp.name] {
				continue
			}
			opt := options.Index().SetName(sp.name)
			if sp.unique {
				opt.SetUnique(true)
			}
			if sp.ttl {
				if s.ferret {
					continue // FerretDB has no TTL indexes; the sweepers clean up.
				}
				opt.SetExpireAfterSeconds(0)
			}
			models = append(models, mongo.IndexModel{Keys: sp.keys, Options: opt})
		}
		if len(models) == 0 {
			continue
		}
		if _, err := s.db.Collection(coll).Indexes().CreateMany(ctx, models); err != nil {
			return fmt.Errorf("create indexes of %s: %w", coll, err)
		}
	}
	return nil
}

// indexNames returns the names of a collection's indexes (none when it does
// not exist yet).
func (s *Store) indexNames(ctx context.Context, coll string) (map[string]bool, error) {
	specs, err := s.db.Collection(coll).Indexes().ListSpecifications(ctx)
	if err != nil {
		return nil, fmt.Errorf("list indexes of %s: %w", coll, err)
	}
	names := make(map[string]bool, len(specs))
	for _, sp := range specs {
		names[sp.Name] = true
	}
	return names, nil
}
