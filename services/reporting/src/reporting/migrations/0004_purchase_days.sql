-- Purchase days per member, so buyers, repeat buyers and churn of a whole brand are filtered counts over one
-- index instead of a per-member grouping of every order of the range (bench/bench_reporting.py: the
-- whole-brand one-year KPI path over 1M orders).

-- Every purchase day of a member, sorted: the row the fact builder locks (INSERT ... ON CONFLICT DO UPDATE
-- sees the latest committed version), so concurrent orders of one member serialise and purchase_day_facts
-- derived from it never miss a day.
CREATE TABLE member_purchase_days (
    brand_id   text   NOT NULL,
    member_id  text   NOT NULL,
    days       date[] NOT NULL,
    PRIMARY KEY (brand_id, member_id)
);

-- One row per member and purchase day, with the member's two previous purchase days (NULL: none).
-- A member bought in [F, L] iff exactly one of its days there has prev_date < F; repeat buyers, active and
-- churned members are counts of the same shape (reporting.adapters.repository._purchase_day_counts).
CREATE TABLE purchase_day_facts (
    brand_id    text NOT NULL,
    member_id   text NOT NULL,
    local_date  date NOT NULL,
    prev_date   date,
    prev2_date  date,
    PRIMARY KEY (brand_id, member_id, local_date)
);
CREATE INDEX purchase_day_facts_day_idx ON purchase_day_facts (brand_id, local_date) INCLUDE (prev_date, prev2_date);

-- Backfill from the order facts already there.
INSERT INTO member_purchase_days (brand_id, member_id, days)
SELECT brand_id, member_id, array_agg(DISTINCT local_date ORDER BY local_date)
FROM order_facts WHERE member_id IS NOT NULL GROUP BY brand_id, member_id;

INSERT INTO purchase_day_facts (brand_id, member_id, local_date, prev_date, prev2_date)
SELECT brand_id, member_id, local_date, lag(local_date) OVER w, lag(local_date, 2) OVER w
FROM (SELECT DISTINCT brand_id, member_id, local_date FROM order_facts WHERE member_id IS NOT NULL) AS d
WINDOW w AS (PARTITION BY brand_id, member_id ORDER BY local_date);
