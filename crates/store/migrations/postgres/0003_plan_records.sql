-- Progress of the plans recorded by the plan office (督查考核): indicator values and task
-- milestones done. Append-only like the ledger: a correction is a new, later record.
CREATE TABLE plan_actuals (
  seq BIGSERIAL PRIMARY KEY,
  indicator TEXT NOT NULL,             -- plan-id:indicator-id
  value TEXT NOT NULL,                 -- exact decimal as text
  date TEXT NOT NULL,
  source TEXT NOT NULL,
  actor TEXT NOT NULL,
  at TEXT NOT NULL
);
CREATE TABLE plan_progress (
  seq BIGSERIAL PRIMARY KEY,
  task TEXT NOT NULL,                  -- plan-id:task-number
  year BIGINT NOT NULL,
  done TEXT NOT NULL,
  source TEXT NOT NULL,
  actor TEXT NOT NULL,
  at TEXT NOT NULL
);
