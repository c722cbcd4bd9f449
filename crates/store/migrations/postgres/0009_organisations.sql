-- Organisations with several users and unified login (issue 11, items 3 and 4).
--
-- A user belongs to one or more applicant organisations (memberships) and acts for one at a
-- time: the session records which (sessions.acting_for), and the session is honoured for that
-- organisation only while the membership exists. The administrator flag is per membership:
-- the organisation's administrator invites and removes its users. Every existing applicant
-- account (one organisation each until now) becomes its organisation's administrator.
CREATE TABLE memberships (
  user_id TEXT NOT NULL REFERENCES users(id),
  applicant_id TEXT NOT NULL REFERENCES applicants(id),
  is_admin BIGINT NOT NULL DEFAULT 0,    -- 1: the organisation's administrator
  added_by TEXT NOT NULL,              -- role:id of who added it
  added_at TEXT NOT NULL,
  PRIMARY KEY (user_id, applicant_id)
);
CREATE INDEX memberships_applicant ON memberships(applicant_id);
INSERT INTO memberships (user_id, applicant_id, is_admin, added_by, added_at)
  SELECT id, applicant_id, 1, 'system:migration', created_at FROM users WHERE applicant_id IS NOT NULL;
ALTER TABLE sessions ADD COLUMN acting_for TEXT;
UPDATE sessions SET acting_for = (SELECT applicant_id FROM users WHERE users.id = sessions.user_id);
-- Staff attributes beside the account: the staff id unified login maps to, and the flag that
-- lets a staff user invite staff accounts (besides the admin role). A table of its own, so a
-- backup made before it still restores row for row.
CREATE TABLE staff_accounts (
  user_id TEXT PRIMARY KEY REFERENCES users(id),
  staff_id TEXT UNIQUE,                -- 工号 in the identity service; NULL: none mapped
  is_admin BIGINT NOT NULL DEFAULT 0
);
-- One-time links (invitations, password resets): only the SHA-256 of the token is kept, so
-- the database never holds a usable link; used_at makes a link single-use.
CREATE TABLE one_time_links (
  token_hash TEXT PRIMARY KEY,
  purpose TEXT NOT NULL,               -- invite | reset
  user_id TEXT NOT NULL REFERENCES users(id),
  applicant_id TEXT REFERENCES applicants(id),  -- the organisation of an invitation
  org_admin BIGINT NOT NULL DEFAULT 0,   -- the invitation makes an administrator
  created_by TEXT NOT NULL,
  created_at TEXT NOT NULL,
  expires_at TEXT NOT NULL,
  used_at TEXT
);
CREATE INDEX one_time_links_user ON one_time_links(user_id);
-- Unified login in flight: the OpenID Connect state (hashed), the browser it was started
-- in (hashed cookie value), the nonce and the PKCE verifier, until the provider sends the
-- user back. Kept in the database, not in memory, so any server process may take the callback.
CREATE TABLE oidc_logins (
  state_hash TEXT PRIMARY KEY,
  browser_hash TEXT NOT NULL,
  nonce TEXT NOT NULL,
  verifier TEXT NOT NULL,
  expires_at TEXT NOT NULL
);
