-- The S&T market (科技大市场, issue 12): achievements and demands, matchmaking events
-- (对接会), registered technology contracts, and innovation vouchers on the service platform.
--
-- Listings keep their searchable text as JSON in `body`; the columns beside it are what the
-- store filters and scopes by. `seq` is the market's change counter: every write to a listing
-- takes the next value (under the `market` write lock), so each process's search index
-- catches up by reading the rows with a higher seq than it has seen — several `serve`
-- processes on one PostgreSQL answer alike.
CREATE TABLE market_listings (
  id TEXT PRIMARY KEY,                 -- CG… achievement, XQ… demand
  side TEXT NOT NULL,                  -- achievement | demand
  owner_applicant_id TEXT REFERENCES applicants(id),  -- NULL: an outside owner listed by staff
  owner_name TEXT NOT NULL,
  region TEXT NOT NULL,
  field TEXT NOT NULL,
  title TEXT NOT NULL,
  body TEXT NOT NULL,                  -- keywords, text, maturity, ip, transfer mode, price or budget, deadline, contact
  review TEXT NOT NULL,                -- pending | published | returned
  review_note TEXT,
  status TEXT NOT NULL,                -- listed | negotiating | transferred | withdrawn (achievements); open | negotiating | solved | withdrawn (demands)
  created_by TEXT NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  seq INTEGER NOT NULL
);
CREATE INDEX market_listings_seq ON market_listings(seq);
CREATE INDEX market_listings_owner ON market_listings(owner_applicant_id);
-- 对接会: a set of listings matched N × M; each proposed pair gets its meeting's outcome.
CREATE TABLE market_fairs (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  held_on TEXT NOT NULL,
  region TEXT NOT NULL,
  created_by TEXT NOT NULL,
  created_at TEXT NOT NULL,
  matched_at TEXT                      -- when the batch matching last ran
);
CREATE TABLE market_fair_listings (
  fair_id TEXT NOT NULL REFERENCES market_fairs(id),
  listing_id TEXT NOT NULL REFERENCES market_listings(id),
  PRIMARY KEY (fair_id, listing_id)
);
CREATE TABLE market_fair_pairs (
  fair_id TEXT NOT NULL REFERENCES market_fairs(id),
  demand_id TEXT NOT NULL,
  achievement_id TEXT NOT NULL,
  score_milli INTEGER NOT NULL,        -- the match score × 1000 (ranking only, never money)
  reasons TEXT NOT NULL,               -- JSON list of {zh, en}
  outcome TEXT NOT NULL DEFAULT '',    -- '' not yet met | intention 意向 | signed 签约 | failed 未成
  outcome_note TEXT,
  recorded_by TEXT,
  recorded_at TEXT,
  PRIMARY KEY (fair_id, demand_id, achievement_id)
);
-- 技术合同认定登记: a registered contract is an event of the seller (contract_registered).
CREATE TABLE tech_contracts (
  reg_no TEXT PRIMARY KEY,             -- 登记编号
  contract_type TEXT NOT NULL,         -- development | transfer | license | consulting | service
  title TEXT NOT NULL,
  seller_id TEXT NOT NULL,             -- 统一社会信用代码
  seller_name TEXT NOT NULL,
  seller_region TEXT NOT NULL,
  buyer_id TEXT NOT NULL,
  buyer_name TEXT NOT NULL,
  buyer_region TEXT NOT NULL,
  broker_id TEXT,                      -- the technology transfer institution that brokered it (居间)
  achievement_id TEXT REFERENCES market_listings(id),
  demand_id TEXT REFERENCES market_listings(id),
  item TEXT NOT NULL,                  -- the project or technology (repeated transfers: increment only)
  amount_fen INTEGER NOT NULL CHECK (amount_fen > 0),        -- 合同成交额
  tech_amount_fen INTEGER NOT NULL CHECK (tech_amount_fen > 0),  -- 技术交易额
  signed_on TEXT NOT NULL,
  registered_on TEXT NOT NULL,
  institution_id TEXT NOT NULL,        -- the registration institution (an applicant), or the staff account
  event_id TEXT,                       -- the seller's contract_registered event, when the seller is on the platform
  created_by TEXT NOT NULL,
  created_at TEXT NOT NULL
);
CREATE INDEX tech_contracts_registered ON tech_contracts(registered_on);
-- 科技条件平台: services offered by registered service institutions.
CREATE TABLE market_services (
  id TEXT PRIMARY KEY,
  institution_id TEXT NOT NULL REFERENCES applicants(id),
  name TEXT NOT NULL,
  category TEXT NOT NULL,              -- instrument_sharing | testing | rd_design
  description TEXT NOT NULL,
  active INTEGER NOT NULL DEFAULT 1,
  created_by TEXT NOT NULL,
  created_at TEXT NOT NULL
);
-- 创新券: a yearly quota issued to an SME, spent on service orders, redeemed once each.
CREATE TABLE vouchers (
  id TEXT PRIMARY KEY,
  applicant_id TEXT NOT NULL REFERENCES applicants(id),
  quota_year INTEGER NOT NULL,
  quota_fen INTEGER NOT NULL CHECK (quota_fen > 0),
  valid_until TEXT NOT NULL,
  issued_by TEXT NOT NULL,
  issued_at TEXT NOT NULL,
  UNIQUE (applicant_id, quota_year)
);
CREATE TABLE voucher_orders (
  id TEXT PRIMARY KEY,
  voucher_id TEXT NOT NULL REFERENCES vouchers(id),
  service_id TEXT NOT NULL REFERENCES market_services(id),
  institution_id TEXT NOT NULL REFERENCES applicants(id),
  amount_fen INTEGER NOT NULL CHECK (amount_fen > 0),
  state TEXT NOT NULL,                 -- ordered | redeemed | cancelled
  contract_no TEXT,
  receipt_no TEXT UNIQUE,              -- 发票/收据号: one redemption per receipt
  ordered_at TEXT NOT NULL,
  redeemed_on TEXT,
  created_by TEXT NOT NULL
);
-- Declared relations between parties (关联关系): no voucher is redeemed between them.
CREATE TABLE market_relations (
  a TEXT NOT NULL,
  b TEXT NOT NULL,
  note TEXT NOT NULL,
  declared_by TEXT NOT NULL,
  declared_at TEXT NOT NULL,
  PRIMARY KEY (a, b)
);
