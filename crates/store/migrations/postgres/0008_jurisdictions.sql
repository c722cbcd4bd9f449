-- Jurisdictions (issue 11): staff accounts belong to one jurisdiction (a region code of the
-- library's region vocabulary: liaoning, shenyang, hunnan…; NULL works for the whole
-- platform); an application is reviewed by each level that pays it in turn (review_stage
-- counts the levels passed, recommended_fen is the amount the last recommending level
-- proposed); every ledger entry names the jurisdiction that pays it (payer; NULL for a level
-- no jurisdiction pays, and for entries written before this migration); a budget belongs to
-- one jurisdiction of its level ('' for a budget of the whole level, as before).
ALTER TABLE users ADD COLUMN jurisdiction TEXT;
ALTER TABLE applications ADD COLUMN review_stage BIGINT NOT NULL DEFAULT 0;
ALTER TABLE applications ADD COLUMN recommended_fen BIGINT;
ALTER TABLE ledger ADD COLUMN payer TEXT;
CREATE INDEX ledger_payer ON ledger(measure, budget_year, level, payer);
ALTER TABLE budgets ADD COLUMN jurisdiction TEXT NOT NULL DEFAULT '';
ALTER TABLE budgets DROP CONSTRAINT budgets_pkey;
ALTER TABLE budgets ADD PRIMARY KEY (measure, budget_year, level, jurisdiction);
