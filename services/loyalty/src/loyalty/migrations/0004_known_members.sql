-- Which accounts belong to members the directory has told us about through its events, so an order for one
-- of them needs no GetMember call (at a till, a member rarely orders twice within the member cache's 30 s).
-- Set by MemberRegistered / MemberUpdated; an erased member is never known again (the erasure is kept, so a
-- late or redelivered profile event cannot bring them back); a merged account is not known (merged_into).
-- Accounts opened before this migration, or by an order, stay unknown until their member's next event:
-- their orders ask the directory, as before.
ALTER TABLE points_accounts
    ADD COLUMN member_known_at  timestamptz,
    ADD COLUMN member_erased_at timestamptz;
