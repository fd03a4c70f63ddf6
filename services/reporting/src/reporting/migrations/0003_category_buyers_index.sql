-- Buyers and churn of one category scan its order lines by day; with the member in the index they are
-- answered from the index alone (bench/bench_reporting.py: the category KPI path over 1M orders).
CREATE INDEX order_line_facts_category_idx ON order_line_facts (brand_id, category, local_date, member_id)
    WHERE member_id IS NOT NULL;
