-- kechuang core schema (PostgreSQL). Money is integer fen, dates ISO text, so both backends'
-- schemas stay alike. Migrations are append-only: never edit one that has shipped.
CREATE TABLE applicants (
  id TEXT PRIMARY KEY,                 -- 统一社会信用代码, validated
  name TEXT NOT NULL,
  kind TEXT NOT NULL,
  region TEXT NOT NULL,
  profile TEXT NOT NULL,               -- the applicant object of kechuang/eval-input/v1
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE TABLE events (
  id TEXT PRIMARY KEY,
  applicant_id TEXT NOT NULL REFERENCES applicants(id),
  kind TEXT NOT NULL,
  date TEXT NOT NULL,
  body TEXT NOT NULL,                  -- the event object of kechuang/eval-input/v1
  created_at TEXT NOT NULL
);
CREATE INDEX events_applicant ON events(applicant_id);
CREATE TABLE applications (
  id TEXT PRIMARY KEY,
  applicant_id TEXT NOT NULL REFERENCES applicants(id),
  measure TEXT NOT NULL,
  event_id TEXT NOT NULL REFERENCES events(id),
  activity TEXT NOT NULL,              -- what makes two applications duplicates
  origin TEXT NOT NULL,                -- application | offer (免申即享)
  state TEXT NOT NULL,
  computed_fen BIGINT,                -- the engine's amount when last evaluated
  amount_kind TEXT,
  approved_fen BIGINT,
  reason TEXT,
  missing TEXT,                        -- 一次性告知: the material requested
  notice_until TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
-- One live application per applicant, measure and activity; withdrawn or rejected ones
-- do not block a new one.
CREATE UNIQUE INDEX applications_live ON applications(applicant_id, measure, activity)
  WHERE state NOT IN ('withdrawn', 'rejected');
CREATE TABLE ledger (
  seq BIGSERIAL PRIMARY KEY,
  application_id TEXT NOT NULL REFERENCES applications(id),
  applicant_id TEXT NOT NULL,
  measure TEXT NOT NULL,
  entry TEXT NOT NULL CHECK (entry IN ('commitment', 'payment', 'reversal')),
  level TEXT NOT NULL,
  budget_year BIGINT NOT NULL,
  amount_fen BIGINT NOT NULL,
  event_date TEXT NOT NULL,
  activity TEXT,
  item TEXT,
  base_fen BIGINT,
  actor TEXT NOT NULL,
  at TEXT NOT NULL
);
CREATE INDEX ledger_applicant ON ledger(applicant_id, measure);
CREATE INDEX ledger_budget ON ledger(measure, budget_year, level);


CREATE TABLE budgets (
  measure TEXT NOT NULL,
  budget_year BIGINT NOT NULL,
  level TEXT NOT NULL,
  amount_fen BIGINT NOT NULL CHECK (amount_fen >= 0),
  PRIMARY KEY (measure, budget_year, level)
);
CREATE TABLE users (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  role TEXT NOT NULL,
  applicant_id TEXT REFERENCES applicants(id),
  password_hash TEXT,
  created_at TEXT NOT NULL
);
CREATE TABLE audit (
  seq BIGSERIAL PRIMARY KEY,
  at TEXT NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  entity TEXT NOT NULL,
  entity_id TEXT NOT NULL,
  before TEXT,
  after TEXT
);

CREATE FUNCTION kc_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'the % is append-only: add a reversal instead', TG_TABLE_NAME;
END;
$$;
CREATE TRIGGER ledger_append_only BEFORE UPDATE OR DELETE ON ledger
  FOR EACH ROW EXECUTE FUNCTION kc_append_only();
CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit
  FOR EACH ROW EXECUTE FUNCTION kc_append_only();

