-- Application materials (issue 10, item 5): the files an applicant hands in with an
-- application (申报书, 承诺书, 佐证材料) and its answers to a reviewer's 一次性告知补正材料
-- list, item by item; the bank account the award is paid to and the 承诺书 the applicant
-- accepted (who and when). Files live in the database (BLOB), so one backup holds everything
-- and several servers share them. Kept in backups (the bytes base64-encoded).
CREATE TABLE application_terms (
  application_id TEXT PRIMARY KEY REFERENCES applications(id),
  account_name TEXT,                   -- 开户名
  bank TEXT,                           -- 开户银行
  account_no TEXT,                     -- 账号, digits only
  pledge_text TEXT,                    -- the 承诺书 exactly as accepted
  pledged_by TEXT,
  pledged_at TEXT,
  updated_by TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
-- One row per item of a 补正 request; `round` counts the requests of one application, so
-- the list of every round stays visible after the applicant resubmits.
CREATE TABLE material_requests (
  id TEXT PRIMARY KEY,
  application_id TEXT NOT NULL REFERENCES applications(id),
  round INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  item TEXT NOT NULL,
  requested_by TEXT NOT NULL,
  requested_at TEXT NOT NULL,
  answer TEXT,
  answered_by TEXT,
  answered_at TEXT,
  UNIQUE (application_id, round, seq)
);
CREATE TABLE attachments (
  id TEXT PRIMARY KEY,
  application_id TEXT NOT NULL REFERENCES applications(id),
  kind TEXT NOT NULL CHECK (kind IN ('application_form', 'pledge', 'evidence', 'supplement')),
  request_id TEXT REFERENCES material_requests(id),
  filename TEXT NOT NULL,
  content_type TEXT NOT NULL,          -- from the file's magic bytes, never the client's word
  size INTEGER NOT NULL,
  sha256 TEXT NOT NULL,                -- hex
  data BLOB NOT NULL,
  uploaded_by TEXT NOT NULL,
  uploaded_at TEXT NOT NULL
);
CREATE INDEX attachments_app ON attachments(application_id, uploaded_at);
CREATE INDEX material_requests_app ON material_requests(application_id, round, seq);
-- Applications already waiting for material keep their request as one item (the text the
-- reviewer wrote), so the applicant can answer it and the list stays visible.
INSERT INTO material_requests (id, application_id, round, seq, item, requested_by, requested_at)
  SELECT id || '-M1-1', id, 1, 1, missing, 'system:migration', updated_at
  FROM applications WHERE state = 'needs_material' AND missing IS NOT NULL AND missing <> '';
