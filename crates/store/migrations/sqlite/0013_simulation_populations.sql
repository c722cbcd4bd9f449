-- The 测算 workspace (issue 13): populations uploaded through the page or the API (CSV, JSON
-- lines or Parquet in the format of docs/population.md), checked against the active library
-- when uploaded (nothing is stored when a row is wrong), listed, chosen as the population of a
-- run and deleted. The file lives in the database (BLOB), so several servers share it and one
-- backup holds it (the bytes base64-encoded, checked against sha256 on restore).
CREATE TABLE simulation_populations (
  id TEXT PRIMARY KEY,                 -- PP2026-1A2B3C4D
  seq INTEGER NOT NULL,                   -- newest first
  name TEXT NOT NULL,                  -- the file's name as uploaded
  format TEXT NOT NULL CHECK (format IN ('csv', 'jsonl', 'parquet')),
  size INTEGER NOT NULL,
  sha256 TEXT NOT NULL,                -- hex
  applicants INTEGER NOT NULL,            -- as counted by the check on upload
  events INTEGER NOT NULL,
  row_count INTEGER NOT NULL,
  jurisdiction TEXT,                   -- the scope of who uploaded it; NULL: the whole platform
  uploaded_by TEXT NOT NULL,           -- user id
  uploaded_by_name TEXT NOT NULL,
  uploaded_at TEXT NOT NULL,
  data BLOB NOT NULL
);
CREATE INDEX simulation_populations_seq ON simulation_populations(seq);
-- A run stopped by a person (状态 已停止): who stopped it. Its progress is kept; its partial
-- result is never written (it is not a forecast).
ALTER TABLE simulation_runs ADD COLUMN stopped_by_name TEXT;
