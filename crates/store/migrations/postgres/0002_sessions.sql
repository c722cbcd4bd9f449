-- Accounts' sessions and failed logins live in the database, so several server processes
-- can share them (scale-out) and a restart logs nobody out.
CREATE TABLE sessions (
  id TEXT PRIMARY KEY,                 -- random, 256 bits, the cookie value
  user_id TEXT NOT NULL REFERENCES users(id),
  csrf TEXT NOT NULL,                  -- the token every form and API write must echo
  created_at TEXT NOT NULL,
  expires_at TEXT NOT NULL
);
CREATE TABLE login_failures (
  key TEXT NOT NULL,                   -- the account name tried
  at TEXT NOT NULL
);
CREATE INDEX login_failures_key ON login_failures(key, at);
