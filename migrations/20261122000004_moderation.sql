-- Moderation and administration: site bans, community bans, reports and the modlog.

ALTER TABLE users
    ADD COLUMN banned_at    timestamptz,
    ADD COLUMN banned_until timestamptz,   -- NULL with banned_at set: permanent
    ADD COLUMN ban_reason   text;
CREATE INDEX users_banned_idx ON users (banned_at) WHERE banned_at IS NOT NULL;

-- Moderators also see removed posts in their community's listings.
CREATE INDEX posts_community_moderation_idx ON posts (community_id, id DESC) WHERE deleted_at IS NULL;

CREATE TABLE community_bans (
    community_id uuid NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    reason       text NOT NULL,
    expires_at   timestamptz,            -- NULL: permanent; compared at check time, no cron
    banned_by    uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (community_id, user_id)
);

CREATE TABLE reports (
    id              uuid PRIMARY KEY,
    reporter_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    community_id    uuid NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    target_type     text NOT NULL CHECK (target_type IN ('post', 'comment')),
    target_id       uuid NOT NULL,
    post_id         uuid NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    reason          text NOT NULL,
    status          text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved')),
    created_at      timestamptz NOT NULL DEFAULT now(),
    resolved_at     timestamptz,
    resolved_by     uuid REFERENCES users (id) ON DELETE SET NULL,
    resolution_note text
);
-- One open report per user per target.
CREATE UNIQUE INDEX reports_open_once_idx ON reports (reporter_id, target_type, target_id) WHERE status = 'open';
CREATE INDEX reports_community_idx ON reports (community_id, status, id DESC);
CREATE INDEX reports_target_open_idx ON reports (target_id) WHERE status = 'open';

CREATE TABLE modlog (
    id             uuid PRIMARY KEY,
    community_id   uuid REFERENCES communities (id) ON DELETE CASCADE,   -- NULL: site-wide action
    actor_id       uuid REFERENCES users (id) ON DELETE SET NULL,
    action         text NOT NULL,
    target_type    text NOT NULL,     -- post, comment, user, community, report
    target_id      uuid,
    target_user_id uuid REFERENCES users (id) ON DELETE SET NULL,
    reason         text,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX modlog_community_idx ON modlog (community_id, id DESC);
