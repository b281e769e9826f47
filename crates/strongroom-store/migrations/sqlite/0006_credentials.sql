-- Each identity proves itself with credentials (secrets, certificates, federated subjects,
-- a user's password); the one secret an identity had becomes its first credential.
CREATE TABLE credentials (
    id TEXT PRIMARY KEY,
    object_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    secret_hash TEXT UNIQUE,
    data TEXT NOT NULL,
    created BIGINT NOT NULL,
    expires BIGINT
);

CREATE INDEX credentials_owner ON credentials (object_id);

INSERT INTO credentials (id, object_id, kind, secret_hash, data, created, expires)
SELECT lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4'
        || substr(lower(hex(randomblob(2))), 2) || '-8'
        || substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6))),
    object_id, 'secret', secret_hash, '{"hint":""}', created, NULL
FROM identities;

CREATE TABLE identities_new (
    object_id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    client_id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    admin INTEGER NOT NULL,
    created BIGINT NOT NULL
);

INSERT INTO identities_new (object_id, name, client_id, kind, admin, created)
SELECT object_id, name, client_id, 'app', admin, created FROM identities;

DROP TABLE identities;

ALTER TABLE identities_new RENAME TO identities;

CREATE TABLE trusted_issuers (
    issuer TEXT PRIMARY KEY,
    jwks TEXT,
    principal_claim TEXT NOT NULL,
    audiences TEXT NOT NULL,
    created BIGINT NOT NULL
);
