-- Invitations remember their kind (an invitation or an activation of a
-- member created directly) and how many emails went out in the current
-- rate-limit window; accounts keep the pending deletion confirmation code
-- (its hash, expiry and wrong attempts).
ALTER TABLE invitations ADD COLUMN kind TEXT NOT NULL DEFAULT '';
ALTER TABLE invitations ADD COLUMN send_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE invitations ADD COLUMN send_count_since INTEGER NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN deletion_code_hash TEXT NOT NULL DEFAULT '';
ALTER TABLE accounts ADD COLUMN deletion_code_expires_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN deletion_code_attempts INTEGER NOT NULL DEFAULT 0;
