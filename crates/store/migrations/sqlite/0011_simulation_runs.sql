-- The 测算 workspace (issue 13, item 5): cost simulations of the policy library over the
-- stored applicants, run in the background and kept. A run is a working result, not a record
-- of money: it is not in backups (it can be run again) and may be read while it runs.
--
-- status: queued → running → done | failed. done/total count applicants evaluated. A running
-- process writes heartbeat_at with each progress step; a run whose heartbeat is older than
-- the platform's limit (the process that ran it stopped) is marked failed by the next reader
-- or process start (docs/simulation.md).
CREATE TABLE simulation_runs (
  id TEXT PRIMARY KEY,                 -- CS2026-1A2B3C4D
  seq INTEGER NOT NULL,                  -- newest first
  created_by TEXT NOT NULL,            -- user id
  created_by_name TEXT NOT NULL,
  created_at TEXT NOT NULL,
  jurisdiction TEXT,                   -- the scope of who ran it; NULL: the whole platform
  title TEXT NOT NULL,
  params TEXT NOT NULL,                -- JSON: period, reform changes and removals
  status TEXT NOT NULL,                -- queued | running | done | failed
  done INTEGER NOT NULL DEFAULT 0,
  total INTEGER NOT NULL DEFAULT 0,
  result TEXT,                         -- JSON: kc_simulate::to_json of baseline (and reform, comparison)
  error TEXT,
  heartbeat_at TEXT NOT NULL,
  finished_at TEXT
);
CREATE INDEX simulation_runs_seq ON simulation_runs(seq);
