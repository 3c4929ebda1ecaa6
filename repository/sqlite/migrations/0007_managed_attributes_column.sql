-- A member's managed attributes (those its identity provider sets) are
-- read with the member and never filtered on, so they leave their side
-- table for one column of the member row, packed in order as
-- "<bytes>:<value>" per name (packList in columns.go). A SCIM-provisioned
-- member has about ten: each create wrote ten rows into one more B-tree
-- (one more page per commit) and each read descended it.
ALTER TABLE members ADD COLUMN managed_attributes TEXT NOT NULL DEFAULT '';

-- side_mask bit 7 used to say "has managed attribute rows"; -1 (rows
-- written before side_mask existed) sets it too.
UPDATE members SET managed_attributes = coalesce((
    SELECT group_concat(concat(octet_length(x.name), ':', x.name), '' ORDER BY x.pos)
    FROM member_managed_attributes x
    WHERE x.account_id = members.account_id AND x.member_pk = members.pk), '')
WHERE side_mask & 128;

DROP TABLE member_managed_attributes;
