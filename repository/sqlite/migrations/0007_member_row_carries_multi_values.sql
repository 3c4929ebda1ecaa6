-- The member row carries every multi-valued attribute, so that a read of
-- a member is one row of one B-tree.
--
-- managed_attributes: the attributes its identity provider sets, read
-- with the member and never filtered on. They leave their side table for
-- this column, packed in order as "<bytes>:<value>" per name (packList in
-- columns.go). A SCIM-provisioned member has about ten: each create wrote
-- ten rows into one more B-tree (one more page per commit).
--
-- multi_values: emails, phone numbers, addresses, roles, optional
-- permissions, expertise and channels, packed as packSides in members.go
-- writes them (a packList of one entry per side table, each entry the
-- rows as "<pos>:" then "<bytes>:<value>" per column). Their side tables
-- stay, for filters and uniqueness; reads no longer descend them (at a
-- million members, two or three more index descents per lookup). Every
-- write of the row writes the column.
--
-- side_mask (0005) only told reads which side tables to descend, so it
-- goes. Its bit 7 was "has managed attribute rows"; -1 (rows written
-- before the mask) sets every bit.
ALTER TABLE members ADD COLUMN managed_attributes TEXT NOT NULL DEFAULT '';
ALTER TABLE members ADD COLUMN multi_values TEXT NOT NULL DEFAULT '';

UPDATE members SET managed_attributes = coalesce((
    SELECT group_concat(concat(octet_length(x.name), ':', x.name), '' ORDER BY x.pos)
    FROM member_managed_attributes x
    WHERE x.account_id = members.account_id AND x.member_pk = members.pk), '')
WHERE side_mask & 128;

UPDATE members SET multi_values = concat(octet_length(v.s0), ':', v.s0, octet_length(v.s1), ':', v.s1, octet_length(v.s2), ':', v.s2, octet_length(v.s3), ':', v.s3, octet_length(v.s4), ':', v.s4, octet_length(v.s5), ':', v.s5, octet_length(v.s6), ':', v.s6)
FROM (
    SELECT m.pk AS pk,
        -- emails
        CASE WHEN m.side_mask & 1 THEN coalesce((SELECT group_concat(concat(pos, ':', octet_length(value), ':', value, octet_length(type), ':', type, octet_length(display), ':', display, octet_length(is_primary), ':', is_primary), '') FROM member_emails x WHERE x.account_id = m.account_id AND x.member_pk = m.pk), '') ELSE '' END AS s0,
        -- phoneNumbers
        CASE WHEN m.side_mask & 2 THEN coalesce((SELECT group_concat(concat(pos, ':', octet_length(value), ':', value, octet_length(type), ':', type, octet_length(display), ':', display, octet_length(is_primary), ':', is_primary), '') FROM member_phones x WHERE x.account_id = m.account_id AND x.member_pk = m.pk), '') ELSE '' END AS s1,
        -- addresses
        CASE WHEN m.side_mask & 4 THEN coalesce((SELECT group_concat(concat(pos, ':', octet_length(formatted), ':', formatted, octet_length(street_address), ':', street_address, octet_length(locality), ':', locality, octet_length(region), ':', region, octet_length(postal_code), ':', postal_code, octet_length(country), ':', country, octet_length(type), ':', type, octet_length(is_primary), ':', is_primary), '') FROM member_addresses x WHERE x.account_id = m.account_id AND x.member_pk = m.pk), '') ELSE '' END AS s2,
        -- roles
        CASE WHEN m.side_mask & 8 THEN coalesce((SELECT group_concat(concat(pos, ':', octet_length(role_key), ':', role_key), '') FROM member_roles x WHERE x.account_id = m.account_id AND x.member_pk = m.pk), '') ELSE '' END AS s3,
        -- optional permissions
        CASE WHEN m.side_mask & 16 THEN coalesce((SELECT group_concat(concat(pos, ':', octet_length(role_key), ':', role_key, octet_length(permission), ':', permission), '') FROM member_optional_permissions x WHERE x.account_id = m.account_id AND x.member_pk = m.pk), '') ELSE '' END AS s4,
        -- expertise
        CASE WHEN m.side_mask & 32 THEN coalesce((SELECT group_concat(concat(pos, ':', octet_length(value), ':', value), '') FROM member_expertise x WHERE x.account_id = m.account_id AND x.member_pk = m.pk), '') ELSE '' END AS s5,
        -- channels
        CASE WHEN m.side_mask & 64 THEN coalesce((SELECT group_concat(concat(pos, ':', octet_length(value), ':', value), '') FROM member_channels x WHERE x.account_id = m.account_id AND x.member_pk = m.pk), '') ELSE '' END AS s6
    FROM members m
) AS v
WHERE members.pk = v.pk;

DROP TABLE member_managed_attributes;
ALTER TABLE members DROP COLUMN side_mask;
