-- Accounts, sessions (refresh-token families), single-use email tokens and the outbox.

CREATE TABLE users (
    id                  uuid PRIMARY KEY,
    username            text NOT NULL,
    email               text NOT NULL,
    password_hash       text NOT NULL,
    email_verified      boolean NOT NULL DEFAULT false,
    role                text NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin')),
    display_name        text,
    bio                 text,
    avatar_url          text,
    email_notifications boolean NOT NULL DEFAULT true,
    post_karma          bigint NOT NULL DEFAULT 0,
    comment_karma       bigint NOT NULL DEFAULT 0,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);
-- Case-insensitive uniqueness; the index names are mapped to field errors in domain::store.
CREATE UNIQUE INDEX users_username_lower_key ON users (lower(username));
CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email));

-- One row per login: a family of refresh tokens. Access tokens carry its id (`sid`), so revoking
-- the session also refuses the access tokens issued under it.
CREATE TABLE sessions (
    id            uuid PRIMARY KEY,
    user_id       uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_used_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at    timestamptz,
    revoke_reason text
);
CREATE INDEX sessions_user_active_idx ON sessions (user_id) WHERE revoked_at IS NULL;

CREATE TABLE refresh_tokens (
    token_hash bytea PRIMARY KEY,           -- SHA-256 of the opaque token
    session_id uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz                  -- set when rotated; a second use is a replay
);
CREATE INDEX refresh_tokens_session_idx ON refresh_tokens (session_id);

CREATE TABLE email_tokens (
    token_hash bytea PRIMARY KEY,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose    text NOT NULL CHECK (purpose IN ('verify_email', 'password_reset')),
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE INDEX email_tokens_user_idx ON email_tokens (user_id, purpose) WHERE used_at IS NULL;

-- Transactional outbox: written in the same transaction as the change that needs background
-- work; the relay in forum-jobs moves pending rows to the queues.
CREATE TABLE outbox (
    id         uuid PRIMARY KEY,
    topic      text NOT NULL,
    payload    jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    sent_at    timestamptz,
    attempts   integer NOT NULL DEFAULT 0
);
CREATE INDEX outbox_pending_idx ON outbox (created_at) WHERE sent_at IS NULL;
