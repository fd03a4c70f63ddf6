-- Refunds, order lines, member ownership, points, coupons, tiers, predictions, anomalies, schedules.

-- Refunds reduce revenue on the brand-local day they are made (what the till saw that day).
ALTER TABLE daily_store_rollup ADD COLUMN refunds bigint NOT NULL DEFAULT 0;
ALTER TABLE daily_store_rollup ADD COLUMN refunded_fen bigint NOT NULL DEFAULT 0;

CREATE TABLE refund_facts (
    brand_id     text        NOT NULL,
    refund_id    text        NOT NULL,
    order_id     text        NOT NULL,
    store_id     text        NOT NULL,
    member_id    text,
    occurred_at  timestamptz NOT NULL,
    local_date   date        NOT NULL,
    amount_fen   bigint      NOT NULL,
    PRIMARY KEY (brand_id, refund_id)
);
CREATE INDEX refund_facts_day_idx ON refund_facts (brand_id, local_date);

-- Order lines, for category figures and product association (sku/category of each purchase day).
CREATE TABLE order_line_facts (
    brand_id    text   NOT NULL,
    order_id    text   NOT NULL,
    line_no     int    NOT NULL,
    store_id    text   NOT NULL,
    member_id   text,
    local_date  date   NOT NULL,
    sku         text   NOT NULL,
    category    text   NOT NULL,
    quantity    int    NOT NULL,
    amount_fen  bigint NOT NULL,
    PRIMARY KEY (brand_id, order_id, line_no)
);
CREATE INDEX order_line_facts_day_idx ON order_line_facts (brand_id, local_date, category);

-- Day × store × category: line amounts, net of refunded lines, kept with the fact.
CREATE TABLE daily_category_rollup (
    brand_id     text   NOT NULL,
    store_id     text   NOT NULL,
    local_date   date   NOT NULL,
    category     text   NOT NULL,
    orders       bigint NOT NULL DEFAULT 0,  -- orders with at least one line of the category
    quantity     bigint NOT NULL DEFAULT 0,
    amount_fen   bigint NOT NULL DEFAULT 0,
    refunded_fen bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (brand_id, local_date, store_id, category)
);

-- Member ownership as it is now (transfers move it), tier as it is now.
ALTER TABLE member_facts ADD COLUMN guide_id text;
ALTER TABLE member_facts ADD COLUMN tier text;
CREATE INDEX member_facts_guide_idx ON member_facts (brand_id, guide_id);
CREATE INDEX order_facts_member_idx ON order_facts (brand_id, member_id, local_date);

CREATE TABLE tier_change_facts (
    brand_id    text        NOT NULL,
    member_id   text        NOT NULL,
    changed_at  timestamptz NOT NULL,
    local_date  date        NOT NULL,
    from_tier   text        NOT NULL,
    to_tier     text        NOT NULL,
    cause       text        NOT NULL
);
CREATE INDEX tier_change_facts_idx ON tier_change_facts (brand_id, local_date);

-- Points per brand-local day (and store when the points came with an order).
CREATE TABLE daily_points_rollup (
    brand_id    text   NOT NULL,
    local_date  date   NOT NULL,
    store_id    text   NOT NULL DEFAULT '',
    issued      bigint NOT NULL DEFAULT 0,
    redeemed    bigint NOT NULL DEFAULT 0,
    expired     bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (brand_id, local_date, store_id)
);

CREATE TABLE coupon_facts (
    brand_id             text NOT NULL,
    coupon_code          text NOT NULL,
    template_id          text NOT NULL,
    member_id            text,
    granted_local_date   date,
    redeemed_local_date  date,
    store_id             text,
    PRIMARY KEY (brand_id, coupon_code)
);
CREATE INDEX coupon_facts_granted_idx ON coupon_facts (brand_id, granted_local_date);

-- The latest purchase model of a brand and each member's score under it.
CREATE TABLE purchase_models (
    brand_id         text        PRIMARY KEY,
    calibration_end  date        NOT NULL,
    r                double precision NOT NULL,
    alpha            double precision NOT NULL,
    a                double precision NOT NULL,
    b                double precision NOT NULL,
    log_likelihood   double precision NOT NULL,
    customers        bigint      NOT NULL,
    fitted_at        timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE member_predictions (
    brand_id                text    NOT NULL,
    member_id               text    NOT NULL,
    p_alive                 double precision NOT NULL,
    expected_purchases_90d  double precision NOT NULL,
    clv_90d_fen             bigint  NOT NULL,
    churn_risk              boolean NOT NULL,
    PRIMARY KEY (brand_id, member_id)
);

CREATE TABLE anomalies (
    id           text        PRIMARY KEY,
    brand_id     text        NOT NULL,
    store_id     text        NOT NULL,
    local_date   date        NOT NULL,
    metric       text        NOT NULL,
    value        double precision NOT NULL,
    low          double precision NOT NULL,
    high         double precision NOT NULL,
    detected_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (brand_id, store_id, local_date, metric)
);
CREATE INDEX anomalies_brand_idx ON anomalies (brand_id, detected_at DESC);

CREATE TABLE report_schedules (
    id           text        PRIMARY KEY,
    brand_id     text        NOT NULL,
    name         text        NOT NULL,
    report       text        NOT NULL,
    local_time   text        NOT NULL,
    email_to     text[]      NOT NULL DEFAULT '{}',
    webhook_url  text        NOT NULL DEFAULT '',
    format       text        NOT NULL,
    period_days  int         NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX report_schedules_brand_idx ON report_schedules (brand_id);

-- Loyalty emits an order's PointsEarned before its OrderRecorded (same transaction): the points wait here
-- until their order is known, so they count on the order's day and at its store.
CREATE TABLE pending_order_points (
    brand_id  text   NOT NULL,
    order_id  text   NOT NULL,
    points    bigint NOT NULL,
    PRIMARY KEY (brand_id, order_id)
);
