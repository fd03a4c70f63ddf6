-- Loyalty: the purchase ledger (orders), points accounts, the immutable points ledger and points lots.
-- Every row carries brand_id and every query filters by it. Ids are text (UUIDs made by the service).

-- One row per POS order; (brand_id, external_id) is the idempotency key of RecordOrder.
CREATE TABLE orders (
    id            text        PRIMARY KEY,
    brand_id      text        NOT NULL,
    external_id   text        NOT NULL CHECK (length(external_id) BETWEEN 1 AND 64),
    store_id      text        NOT NULL,
    member_id     text,                               -- NULL: buyer not (yet) a member
    occurred_at   timestamptz NOT NULL,
    total_fen     bigint      NOT NULL CHECK (total_fen >= 0),
    item_count    integer     NOT NULL CHECK (item_count > 0),
    fingerprint   text        NOT NULL,               -- sha256 of the canonical request content
    points_earned bigint      NOT NULL DEFAULT 0 CHECK (points_earned >= 0),
    response      jsonb,                              -- the first answer, replayed to repeats
    recorded_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (brand_id, external_id)
);
CREATE INDEX orders_member_idx ON orders (brand_id, member_id, occurred_at) WHERE member_id IS NOT NULL;

CREATE TABLE order_items (
    order_id      text        NOT NULL REFERENCES orders (id),
    line_no       integer     NOT NULL,
    brand_id      text        NOT NULL,
    sku           text        NOT NULL,
    name          text        NOT NULL DEFAULT '',
    category      text        NOT NULL DEFAULT '',
    quantity      integer     NOT NULL CHECK (quantity > 0),
    amount_fen    bigint      NOT NULL CHECK (amount_fen >= 0),
    PRIMARY KEY (order_id, line_no)
);

-- The balance is a cache of the ledger, kept in the same transaction; the CHECK is the last line of
-- defence against a negative balance whatever the code above it does.
CREATE TABLE points_accounts (
    brand_id      text        NOT NULL,
    member_id     text        NOT NULL,
    balance       bigint      NOT NULL DEFAULT 0 CHECK (balance >= 0),
    growth_value  bigint      NOT NULL DEFAULT 0 CHECK (growth_value >= 0),
    tier          text        NOT NULL DEFAULT '',
    opened_at     timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (brand_id, member_id)
);

-- Append-only: corrections are new entries, never edits (enforced by the trigger below).
CREATE TABLE points_ledger (
    id            bigserial   PRIMARY KEY,
    brand_id      text        NOT NULL,
    member_id     text        NOT NULL,
    delta         bigint      NOT NULL CHECK (delta <> 0),
    reason        text        NOT NULL,               -- ORDER, REFUND, REDEMPTION, EXPIRY, ADJUSTMENT
    reference     text        NOT NULL,               -- e.g. the order id
    balance_after bigint      NOT NULL CHECK (balance_after >= 0),
    created_at    timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (brand_id, member_id) REFERENCES points_accounts (brand_id, member_id),
    -- A second guard beside the order key: one entry per cause, so nothing is credited twice.
    UNIQUE (brand_id, member_id, reason, reference)
);
CREATE INDEX points_ledger_account_idx ON points_ledger (brand_id, member_id, id);

CREATE FUNCTION points_ledger_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'points_ledger is append-only';
END $$;
CREATE TRIGGER points_ledger_no_change BEFORE UPDATE OR DELETE ON points_ledger
    FOR EACH ROW EXECUTE FUNCTION points_ledger_immutable();

-- Points earned together and expiring together; spending and expiry consume lots oldest first.
CREATE TABLE points_lots (
    id              bigserial   PRIMARY KEY,
    brand_id        text        NOT NULL,
    member_id       text        NOT NULL,
    ledger_entry_id bigint      NOT NULL REFERENCES points_ledger (id),
    points          bigint      NOT NULL CHECK (points > 0),
    remaining       bigint      NOT NULL CHECK (remaining >= 0 AND remaining <= points),
    earned_at       timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz,                      -- NULL: never expires
    FOREIGN KEY (brand_id, member_id) REFERENCES points_accounts (brand_id, member_id)
);
CREATE INDEX points_lots_open_idx ON points_lots (brand_id, member_id, expires_at) WHERE remaining > 0;
