CREATE TABLE role_assignments (
    vault TEXT NOT NULL,
    name TEXT NOT NULL,
    scope TEXT NOT NULL,
    role_definition TEXT NOT NULL,
    principal_id TEXT NOT NULL,
    created BIGINT NOT NULL,
    PRIMARY KEY (vault, name)
);

CREATE INDEX role_assignments_principal ON role_assignments (vault, principal_id);
