-- Events of writes, stored by the writes' own transactions until their node's audit writer
-- links them into its chain (moving them to audit_batches in one transaction).
CREATE TABLE audit_pending (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    chain TEXT NOT NULL,
    stored_at BIGINT NOT NULL,
    event TEXT NOT NULL
);

CREATE INDEX audit_pending_chain ON audit_pending (chain);
