-- Jurisdictions (issue 11): staff accounts belong to one jurisdiction (a region code of the
-- library's region vocabulary: liaoning, shenyang, hunnan…; NULL works for the whole
-- platform); an application is reviewed by each level that pays it in turn (review_stage
-- counts the levels passed, recommended_fen is the amount the last recommending level
-- proposed); every ledger entry names the jurisdiction that pays it (payer; NULL for a level
-- no jurisdiction pays, and for entries written before this migration); a budget belongs to
-- one jurisdiction of its level ('' for a budget of the whole level, as before).
ALTER TABLE users ADD COLUMN jurisdiction TEXT;
ALTER TABLE applications ADD COLUMN review_stage INTEGER NOT NULL DEFAULT 0;
ALTER TABLE applications ADD COLUMN recommended_fen INTEGER;
ALTER TABLE ledger ADD COLUMN payer TEXT;
CREATE INDEX ledger_payer ON ledger(measure, budget_year, level, payer);
CREATE TABLE budgets_by_jurisdiction (
  measure TEXT NOT NULL,
  budget_year INTEGER NOT NULL,
  level TEXT NOT NULL,
  jurisdiction TEXT NOT NULL DEFAULT '',
  amount_fen INTEGER NOT NULL CHECK (amount_fen >= 0),
  PRIMARY KEY (measure, budget_year, level, jurisdiction)
);
INSERT INTO budgets_by_jurisdiction (measure, budget_year, level, jurisdiction, amount_fen)
  SELECT measure, budget_year, level, '', amount_fen FROM budgets;
DROP TABLE budgets;
ALTER TABLE budgets_by_jurisdiction RENAME TO budgets;
