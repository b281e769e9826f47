CREATE TABLE audit_events (
    chain TEXT NOT NULL,
    seq BIGINT NOT NULL,
    time BIGINT NOT NULL,
    request_id TEXT NOT NULL,
    principal TEXT NOT NULL,
    app_id TEXT NOT NULL,
    client TEXT NOT NULL,
    operation TEXT NOT NULL,
    resource TEXT NOT NULL,
    result TEXT NOT NULL,
    duration_us BIGINT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    PRIMARY KEY (chain, seq)
);

CREATE INDEX audit_events_time ON audit_events (time);
