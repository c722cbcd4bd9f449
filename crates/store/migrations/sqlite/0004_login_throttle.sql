-- Failed logins are throttled per account *and* client address (issue 9, defect 4): an
-- anonymous client can no longer lock the owner out, and an attempt is recorded before the
-- password is checked (`attempt` names it), so parallel guesses are counted atomically.
ALTER TABLE login_failures ADD COLUMN client TEXT NOT NULL DEFAULT '';
ALTER TABLE login_failures ADD COLUMN attempt TEXT;
CREATE INDEX login_failures_client ON login_failures(client, at);
CREATE INDEX login_failures_at ON login_failures(at);
