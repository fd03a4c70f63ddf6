-- Birthday gift coupons (a tier benefit): at most one gift per member per year, whatever the job does.
-- Birthdays themselves stay on points_accounts.birthday (kept from MemberRegistered and refreshed from
-- the directory's GetMember on every order; cleared by MemberErased).
CREATE TABLE birthday_gifts (
    brand_id     text        NOT NULL,
    member_id    text        NOT NULL,
    year         integer     NOT NULL,
    template_id  text        NOT NULL,
    coupon_code  text,                        -- NULL: the grant was refused (reason says why)
    reason       text        NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (brand_id, member_id, year)
);
-- The job's scan: accounts of the brand by birthday month.
CREATE INDEX points_accounts_birthday_month_idx ON points_accounts (brand_id, (extract(month FROM birthday)))
    WHERE birthday IS NOT NULL AND merged_into IS NULL;
