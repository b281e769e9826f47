CREATE TABLE role_definitions (
    vault TEXT NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    role_name TEXT NOT NULL,
    description TEXT NOT NULL,
    permissions TEXT NOT NULL,
    PRIMARY KEY (vault, name)
);
