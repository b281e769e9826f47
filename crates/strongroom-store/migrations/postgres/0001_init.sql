CREATE TABLE vaults (
    name TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    sku TEXT NOT NULL,
    retention_days BIGINT NOT NULL,
    purge_protection BIGINT NOT NULL,
    created BIGINT NOT NULL,
    sealed_kek BYTEA NOT NULL
);

CREATE TABLE keys (
    vault TEXT NOT NULL,
    name TEXT NOT NULL,
    latest_seq BIGINT NOT NULL,
    deleted_date BIGINT,
    scheduled_purge_date BIGINT,
    rotation_policy TEXT,
    PRIMARY KEY (vault, name)
);

CREATE INDEX keys_scheduled_purge ON keys (scheduled_purge_date) WHERE scheduled_purge_date IS NOT NULL;

CREATE TABLE key_versions (
    vault TEXT NOT NULL,
    name TEXT NOT NULL,
    version TEXT NOT NULL,
    seq BIGINT NOT NULL,
    kty TEXT NOT NULL,
    public_key TEXT NOT NULL,
    key_ops TEXT NOT NULL,
    enabled BIGINT NOT NULL,
    nbf BIGINT,
    exp BIGINT,
    exportable BIGINT NOT NULL,
    created BIGINT NOT NULL,
    updated BIGINT NOT NULL,
    tags TEXT NOT NULL,
    release_policy TEXT,
    sealed BYTEA NOT NULL,
    PRIMARY KEY (vault, name, version)
);

CREATE UNIQUE INDEX key_versions_seq ON key_versions (vault, name, seq);

CREATE TABLE identities (
    object_id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    client_id TEXT NOT NULL UNIQUE,
    secret_hash TEXT NOT NULL UNIQUE,
    admin BIGINT NOT NULL,
    created BIGINT NOT NULL
);

CREATE TABLE server_secrets (
    name TEXT PRIMARY KEY,
    value BYTEA NOT NULL
);

CREATE TABLE leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires BIGINT NOT NULL
);
