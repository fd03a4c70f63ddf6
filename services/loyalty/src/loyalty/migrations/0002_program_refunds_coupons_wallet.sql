-- Issue #4: versioned programmes, refunds with proportional reversal and points debt, expiry, tiers with
-- a rolling review, idempotent commands, coupons and the stored-value wallet.

-- Each PUT of a brand's programme is a new version; the highest version is in force.
CREATE TABLE programs (
    brand_id    text        NOT NULL,
    version     integer     NOT NULL CHECK (version > 0),
    config      jsonb       NOT NULL,
    created_by  text        NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (brand_id, version)
);

-- Orders: what they earned (for proportional reversal), what was refunded, and a phone kept only while
-- the buyer is not a member yet (cleared on attach and on erasure).
ALTER TABLE orders
    ADD COLUMN member_phone     text,
    ADD COLUMN program_version  integer NOT NULL DEFAULT 0,
    ADD COLUMN growth_earned    bigint  NOT NULL DEFAULT 0 CHECK (growth_earned >= 0),
    ADD COLUMN refunded_fen     bigint  NOT NULL DEFAULT 0,
    ADD COLUMN points_reversed  bigint  NOT NULL DEFAULT 0 CHECK (points_reversed >= 0),
    ADD COLUMN points_excused   bigint  NOT NULL DEFAULT 0 CHECK (points_excused >= 0),
    ADD COLUMN growth_reversed  bigint  NOT NULL DEFAULT 0 CHECK (growth_reversed >= 0),
    ADD COLUMN lot_id           bigint,
    ADD CONSTRAINT orders_refund_within_total CHECK (refunded_fen BETWEEN 0 AND total_fen);
CREATE INDEX orders_pending_phone_idx ON orders (brand_id, member_phone) WHERE member_id IS NULL;

ALTER TABLE order_items
    ADD COLUMN refunded_quantity integer NOT NULL DEFAULT 0,
    ADD CONSTRAINT order_items_refund_within_quantity CHECK (refunded_quantity BETWEEN 0 AND quantity);

CREATE TABLE refunds (
    id                  text        PRIMARY KEY,
    brand_id            text        NOT NULL,
    order_id            text        NOT NULL REFERENCES orders (id),
    external_refund_id  text        NOT NULL CHECK (length(external_refund_id) BETWEEN 1 AND 64),
    fingerprint         text        NOT NULL,
    amount_fen          bigint      NOT NULL CHECK (amount_fen >= 0),
    response            jsonb       NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT now(),
    UNIQUE (brand_id, external_refund_id)
);

-- Points debt: reversal of points already spent. Never a negative balance; paid from future earnings.
-- tier_floor: the tier kept until the next review; tier_review_at: end of the rolling period.
ALTER TABLE points_accounts
    ADD COLUMN debt            bigint      NOT NULL DEFAULT 0 CHECK (debt >= 0),
    ADD COLUMN tier_floor      text        NOT NULL DEFAULT '',
    ADD COLUMN tier_review_at  timestamptz,
    ADD COLUMN birthday        date,
    ADD COLUMN merged_into     text;

ALTER TABLE points_ledger
    ADD COLUMN debt_delta  bigint NOT NULL DEFAULT 0,
    ADD COLUMN debt_after  bigint NOT NULL DEFAULT 0 CHECK (debt_after >= 0),
    ADD COLUMN staff_id    text   NOT NULL DEFAULT '',
    ADD COLUMN note        text   NOT NULL DEFAULT '',
    DROP CONSTRAINT points_ledger_delta_check,
    ADD CONSTRAINT points_ledger_changes_something CHECK (delta <> 0 OR debt_delta <> 0);

-- Expired points stay visible on their lot, so a later refund of the order does not take them twice.
ALTER TABLE points_lots ADD COLUMN expired bigint NOT NULL DEFAULT 0 CHECK (expired >= 0);
CREATE INDEX points_lots_expiry_idx ON points_lots (expires_at) WHERE remaining > 0 AND expires_at IS NOT NULL;

-- Growth value changes with their time: qualifying growth is the sum over the rolling period.
CREATE TABLE growth_ledger (
    id          bigserial   PRIMARY KEY,
    brand_id    text        NOT NULL,
    member_id   text        NOT NULL,
    delta       bigint      NOT NULL CHECK (delta <> 0),
    reason      text        NOT NULL,
    reference   text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (brand_id, member_id, reason, reference)
);
CREATE INDEX growth_ledger_account_idx ON growth_ledger (brand_id, member_id, created_at);

-- Idempotency keys of money-like commands: the first answer is replayed, other content is refused.
CREATE TABLE idempotency_keys (
    brand_id     text        NOT NULL,
    scope        text        NOT NULL,             -- redeem, adjust, grant, top_up, pay, wallet_refund
    key          text        NOT NULL CHECK (length(key) BETWEEN 1 AND 128),
    fingerprint  text        NOT NULL,
    response     jsonb,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (brand_id, scope, key)
);

CREATE TABLE coupon_templates (
    id                text        PRIMARY KEY,
    brand_id          text        NOT NULL,
    name              text        NOT NULL,
    kind              text        NOT NULL CHECK (kind IN ('cash', 'percent', 'gift')),
    value_fen         bigint      NOT NULL DEFAULT 0 CHECK (value_fen >= 0),
    percent_off       integer     NOT NULL DEFAULT 0 CHECK (percent_off BETWEEN 0 AND 100),
    min_spend_fen     bigint      NOT NULL DEFAULT 0 CHECK (min_spend_fen >= 0),
    stock             bigint      NOT NULL CHECK (stock >= 0),
    issued            bigint      NOT NULL DEFAULT 0,
    per_member_limit  integer     NOT NULL DEFAULT 0 CHECK (per_member_limit >= 0),
    valid_days        integer     NOT NULL DEFAULT 0 CHECK (valid_days >= 0),
    valid_from        timestamptz,
    valid_to          timestamptz,
    store_ids         text[]      NOT NULL DEFAULT '{}',
    categories        text[]      NOT NULL DEFAULT '{}',
    created_at        timestamptz NOT NULL DEFAULT now(),
    -- The last line of defence against overselling, whatever the code above does.
    CONSTRAINT coupon_templates_stock CHECK (issued BETWEEN 0 AND stock),
    CONSTRAINT coupon_templates_validity CHECK (valid_days > 0 OR (valid_from IS NOT NULL AND valid_to > valid_from))
);
CREATE INDEX coupon_templates_brand_idx ON coupon_templates (brand_id);

CREATE TABLE coupons (
    code               text        PRIMARY KEY,
    brand_id           text        NOT NULL,
    template_id        text        NOT NULL REFERENCES coupon_templates (id),
    member_id          text        NOT NULL,
    status             text        NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'redeemed', 'void', 'expired')),
    valid_from         timestamptz NOT NULL,
    valid_to           timestamptz NOT NULL,
    granted_by         text        NOT NULL DEFAULT '',
    granted_at         timestamptz NOT NULL DEFAULT now(),
    redeemed_at        timestamptz,
    order_external_id  text,
    store_id           text
);
CREATE INDEX coupons_member_idx ON coupons (brand_id, member_id, template_id);
CREATE INDEX coupons_active_valid_to_idx ON coupons (brand_id, valid_to) WHERE status = 'active';

-- Stored value: principal (money paid in) and bonus (given on top) kept apart; both never negative.
CREATE TABLE wallets (
    brand_id       text        NOT NULL,
    member_id      text        NOT NULL,
    principal_fen  bigint      NOT NULL DEFAULT 0 CHECK (principal_fen >= 0),
    bonus_fen      bigint      NOT NULL DEFAULT 0 CHECK (bonus_fen >= 0),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (brand_id, member_id)
);

CREATE TABLE wallet_entries (
    id                     bigserial   PRIMARY KEY,
    brand_id               text        NOT NULL,
    member_id              text        NOT NULL,
    principal_delta_fen    bigint      NOT NULL,
    bonus_delta_fen        bigint      NOT NULL,
    principal_after_fen    bigint      NOT NULL CHECK (principal_after_fen >= 0),
    bonus_after_fen        bigint      NOT NULL CHECK (bonus_after_fen >= 0),
    reason                 text        NOT NULL,   -- top_up | payment | refund | merge_in | merge_out
    reference              text        NOT NULL,
    refunded_fen           bigint      NOT NULL DEFAULT 0, -- on payments: how much went back already
    created_at             timestamptz NOT NULL DEFAULT now(),
    UNIQUE (brand_id, member_id, reason, reference)
);
