-- Library versions (issue 14, item 1): the policy library the platform evaluates with lives in
-- the database. A version is a set of files (the literate policy files and the scenario files);
-- a published version is immutable. library_state holds the one active version: publishing
-- writes the new version's row and moves the pointer in one transaction, so every process
-- sharing the database switches with its next request and none sees half a library.
--
-- state: draft (editable) → submitted (locked, awaiting a second person's approval) →
-- published; a submitted draft returned goes back to draft with the reason; a draft may be
-- discarded. hash: SHA-256 over the files (path, NUL, text, NUL … in path order).
CREATE TABLE library_versions (
  id BIGINT PRIMARY KEY,                 -- 1, 2, 3 … in order of creation
  state TEXT NOT NULL,               -- draft | submitted | published | discarded
  title TEXT NOT NULL,               -- what the version changes (修订说明)
  base BIGINT,                           -- the version it was drafted from
  hash TEXT NOT NULL,
  drafted_by TEXT NOT NULL,          -- role:user id
  drafted_by_name TEXT NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  submitted_by TEXT,
  submitted_at TEXT,
  approved_by TEXT,
  approved_by_name TEXT,
  published_at TEXT,
  applies_from TEXT,                 -- the date from which the version applies (YYYY-MM-DD)
  returned_reason TEXT
);
CREATE TABLE library_files (
  version BIGINT NOT NULL REFERENCES library_versions(id),
  path TEXT NOT NULL,                -- policies/x.md, tests/scenarios/x.json
  text TEXT NOT NULL,
  PRIMARY KEY (version, path)
);
CREATE TABLE library_state (
  id BIGINT PRIMARY KEY CHECK (id = 1),
  active BIGINT NOT NULL REFERENCES library_versions(id)
);
-- The version an application's award was decided under: re-evaluating it later uses that
-- version's rules, with that trace (issue 14, item 4).
CREATE TABLE application_versions (
  application_id TEXT PRIMARY KEY REFERENCES applications(id),
  version BIGINT NOT NULL REFERENCES library_versions(id),
  decided_at TEXT NOT NULL
);
