-- Objections lodged by anyone during 公示 (issue 10, item 8): who (a name and a way to reach
-- them) and why, for the reviewer to look into. Recording one moves no money: the reviewer's
-- `object` step is what reverses a commitment. Kept in backups.
CREATE TABLE public_objections (
  id TEXT PRIMARY KEY,
  application_id TEXT NOT NULL REFERENCES applications(id),
  name TEXT NOT NULL,
  contact TEXT NOT NULL,
  reason TEXT NOT NULL,
  at TEXT NOT NULL
);
CREATE INDEX public_objections_app ON public_objections(application_id, at);
