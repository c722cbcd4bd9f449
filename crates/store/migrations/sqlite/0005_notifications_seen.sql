-- The applicant's notifications inbox (issue 10, item 7): the last audit row (`audit.seq`) a
-- user has seen in the inbox; notifications after it are unread. NULL: nothing seen yet.
-- A sequence number, not a time: it is exact and monotonic, two changes in one millisecond
-- are still told apart.
ALTER TABLE users ADD COLUMN notifications_seen_seq INTEGER;
