-- Planner statistics.
--
-- Without statistics SQLite assumes an equality on the first column of an
-- index matches about ten rows, so "account_id = ?" looks selective and the
-- planner may walk a whole account in id order rather than use the index
-- of the condition that really narrows the search. These hand-written
-- sqlite_stat1 rows describe a deployment of a hundred accounts of ten
-- thousand members: account_id alone narrows little, the attribute
-- indexes narrow a lot. A later ANALYZE replaces them with measured ones.
ANALYZE sqlite_schema;
DELETE FROM sqlite_stat1;
INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES
	('accounts', 'accounts_name', '100 1'),
	('members', NULL, '1000000'),
	('members', 'members_id', '1000000 10000 1'),
	('members', 'members_user_name', '1000000 10000 1'),
	('members', 'members_external_id', '900000 9000 1'),
	('members', 'members_display_name', '1000000 10000 2 1'),
	('members', 'members_employee_number', '1000000 10000 2 1'),
	('members', 'members_manager', '500000 5000 10'),
	('members', 'members_pending_manager', '1000 10 2'),
	('members', 'members_seat_status', '1000000 10000 3000 2'),
	('members', 'members_updated', '1000000 10000 1 1'),
	('member_emails', 'member_emails', '1500000 15000 2 1'),
	('member_emails', 'member_emails_value', '1500000 15000 1'),
	('member_phones', 'member_phones', '1000000 10000 1 1'),
	('member_phones', 'member_phones_value', '1000000 10000 1'),
	('member_addresses', 'member_addresses', '500000 5000 1 1'),
	('member_roles', 'member_roles', '1500000 15000 2 1'),
	('member_roles', 'member_roles_key', '1500000 15000 1500'),
	('member_optional_permissions', 'member_optional_permissions', '500000 5000 2 1'),
	('member_expertise', 'member_expertise', '2000000 20000 2 1'),
	('member_expertise', 'member_expertise_value', '2000000 20000 100'),
	('member_channels', 'member_channels', '2000000 20000 2 1'),
	('member_channels', 'member_channels_value', '2000000 20000 3000'),
	('member_managed_attributes', 'member_managed_attributes', '5000000 50000 5 1'),
	('groups', NULL, '10000'),
	('groups', 'groups_id', '10000 100 1'),
	('groups', 'groups_display_name', '10000 100 1'),
	('groups', 'groups_external_id', '5000 50 1'),
	('groups', 'groups_updated', '10000 100 1 1'),
	('group_members', 'group_members', '2000000 20000 200 1'),
	('group_members', 'group_members_member', '2000000 20000 2');
