ALTER TABLE vaults ADD COLUMN rbac_authorization INTEGER NOT NULL DEFAULT 1;

CREATE TABLE access_policies (
    vault TEXT NOT NULL,
    object_id TEXT NOT NULL,
    keys TEXT NOT NULL,
    updated BIGINT NOT NULL,
    PRIMARY KEY (vault, object_id)
);
