-- The audit log, one row per group-committed batch of one chain: `events` is the JSON array of
-- the batch's events, seq first_seq..=last_seq.
CREATE TABLE audit_batches (
    chain TEXT NOT NULL,
    first_seq BIGINT NOT NULL,
    last_seq BIGINT NOT NULL,
    first_time BIGINT NOT NULL,
    last_time BIGINT NOT NULL,
    events TEXT NOT NULL,
    PRIMARY KEY (chain, first_seq)
);

CREATE INDEX audit_batches_time ON audit_batches (last_time);
