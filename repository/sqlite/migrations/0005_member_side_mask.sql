-- side_mask has bit k set when the member has rows in side table k (the
-- order of sideTables in members.go: emails, phones, addresses, roles,
-- optional permissions, expertise, channels, managed attributes). A read
-- of a member looks only into the side tables its mask names, instead of
-- descending all eight indexes to find most of them empty. -1 (every bit)
-- means "look everywhere", which is right for any row, so rows written
-- before this column existed need no backfill.
ALTER TABLE members ADD COLUMN side_mask INTEGER NOT NULL DEFAULT -1;
