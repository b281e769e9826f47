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
SELECT gen_random_uuid()::text, object_id, 'secret', secret_hash, '{"hint":""}', created, NULL
FROM identities;

ALTER TABLE identities DROP COLUMN secret_hash;

ALTER TABLE identities ADD COLUMN kind TEXT NOT NULL DEFAULT 'app';

CREATE TABLE trusted_issuers (
    issuer TEXT PRIMARY KEY,
    jwks TEXT,
    principal_claim TEXT NOT NULL,
    audiences TEXT NOT NULL,
    created BIGINT NOT NULL
);
