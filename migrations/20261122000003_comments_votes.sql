-- Nested comments, comment votes, reply notifications and idempotency keys.

-- Lower bound of the Wilson score interval at Reddit's z = 1.281551565545 (80%).
-- Mirrors domain::rules::ranking::wilson.
CREATE FUNCTION wilson_rank(ups integer, downs integer) RETURNS double precision
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE WHEN ups + downs <= 0 THEN 0
           ELSE ((ups::double precision / (ups + downs)) + 1.642374415149 / (2 * (ups + downs))
                 - 1.281551565545 * sqrt(((ups::double precision / (ups + downs)) * (1 - ups::double precision / (ups + downs))
                                          + 1.642374415149 / (4 * (ups + downs))) / (ups + downs)))
                / (1 + 1.642374415149 / (ups + downs)) END;

CREATE TABLE comments (
    id          uuid PRIMARY KEY,
    post_id     uuid NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    parent_id   uuid REFERENCES comments (id) ON DELETE CASCADE,
    author_id   uuid REFERENCES users (id) ON DELETE SET NULL,
    -- Ancestor ids from the top-level comment down to the parent (materialized path).
    path        uuid[] NOT NULL DEFAULT '{}',
    depth       smallint NOT NULL CHECK (depth BETWEEN 0 AND 10),
    body        text NOT NULL,
    body_html   text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    edited_at   timestamptz,
    deleted_at  timestamptz,
    removed_at  timestamptz,
    score       integer NOT NULL DEFAULT 0,
    upvotes     integer NOT NULL DEFAULT 0,
    downvotes   integer NOT NULL DEFAULT 0,
    reply_count integer NOT NULL DEFAULT 0,   -- direct replies, kept in the reply's transaction
    best        double precision GENERATED ALWAYS AS (wilson_rank(upvotes, downvotes)) STORED,
    controversy double precision GENERATED ALWAYS AS (controversy_rank(upvotes, downvotes)) STORED
);
-- Top-level comments of a post and the replies of a comment, each in every sort's order.
CREATE INDEX comments_top_best_idx ON comments (post_id, best DESC, id DESC) WHERE parent_id IS NULL;
CREATE INDEX comments_top_score_idx ON comments (post_id, score DESC, id DESC) WHERE parent_id IS NULL;
CREATE INDEX comments_top_new_idx ON comments (post_id, id) WHERE parent_id IS NULL;
CREATE INDEX comments_top_controversy_idx ON comments (post_id, controversy DESC, id DESC) WHERE parent_id IS NULL;
CREATE INDEX comments_parent_best_idx ON comments (parent_id, best DESC, id DESC) WHERE parent_id IS NOT NULL;
CREATE INDEX comments_parent_new_idx ON comments (parent_id, id) WHERE parent_id IS NOT NULL;
CREATE INDEX comments_author_idx ON comments (author_id, id DESC);

CREATE TABLE comment_votes (
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    comment_id uuid NOT NULL REFERENCES comments (id) ON DELETE CASCADE,
    value      smallint NOT NULL CHECK (value IN (-1, 0, 1)),
    voted_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, comment_id)
);
CREATE INDEX comment_votes_comment_idx ON comment_votes (comment_id);

CREATE TABLE notifications (
    id         uuid PRIMARY KEY,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind       text NOT NULL CHECK (kind IN ('post_reply', 'comment_reply')),
    post_id    uuid NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    comment_id uuid NOT NULL REFERENCES comments (id) ON DELETE CASCADE,
    actor_id   uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    read_at    timestamptz
);
CREATE INDEX notifications_user_idx ON notifications (user_id, id DESC);
CREATE INDEX notifications_unread_idx ON notifications (user_id, id DESC) WHERE read_at IS NULL;

-- Idempotency-Key: one row per user and key, holding the request's hash and, once done, the
-- response to replay. Rows older than 24 h are purged (and may be reused before that).
CREATE TABLE idempotency_keys (
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key          text NOT NULL,
    request_hash bytea NOT NULL,
    status       smallint,                 -- NULL while the first request is in flight
    response     jsonb,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);
