-- Communities, membership and moderators; posts with stored ranks; saves; votes (used from 3/8).

-- Reddit's hot rank: time-invariant, so it is stored and indexed. Mirrors
-- domain::rules::ranking::hot (a test checks they agree).
CREATE FUNCTION hot_rank(score integer, created_at timestamptz) RETURNS double precision
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN sign(score) * log(greatest(abs(score), 1))
           + (extract(epoch FROM created_at) - 1134028003) / 45000;

-- (ups + downs) ^ (min / max), 0 when either is 0. Mirrors domain::rules::ranking::controversy.
CREATE FUNCTION controversy_rank(ups integer, downs integer) RETURNS double precision
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE WHEN ups <= 0 OR downs <= 0 THEN 0
                ELSE power((ups + downs)::double precision,
                           least(ups, downs)::double precision / greatest(ups, downs)) END;

CREATE TABLE communities (
    id            uuid PRIMARY KEY,
    name          text NOT NULL,
    title         text NOT NULL,
    description   text NOT NULL DEFAULT '',
    rules         jsonb NOT NULL DEFAULT '[]',
    nsfw          boolean NOT NULL DEFAULT false,
    restricted    boolean NOT NULL DEFAULT false,
    owner_id      uuid REFERENCES users (id) ON DELETE SET NULL,
    member_count  bigint NOT NULL DEFAULT 0,
    post_count    bigint NOT NULL DEFAULT 0,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    removed_at    timestamptz,
    removed_reason text,
    search        tsvector GENERATED ALWAYS AS (
                      setweight(to_tsvector('simple', name), 'A')
                      || setweight(to_tsvector('english', title), 'A')
                      || setweight(to_tsvector('english', description), 'B')) STORED
);
CREATE UNIQUE INDEX communities_name_lower_key ON communities (lower(name));
CREATE INDEX communities_popular_idx ON communities (member_count DESC, id DESC) WHERE removed_at IS NULL;
CREATE INDEX communities_new_idx ON communities (id DESC) WHERE removed_at IS NULL;
CREATE INDEX communities_search_idx ON communities USING gin (search);

CREATE TABLE community_members (
    community_id uuid NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    joined_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (community_id, user_id)
);
CREATE INDEX community_members_user_idx ON community_members (user_id, community_id);

CREATE TABLE community_moderators (
    community_id uuid NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role         text NOT NULL CHECK (role IN ('owner', 'moderator')),
    added_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (community_id, user_id)
);
CREATE INDEX community_moderators_user_idx ON community_moderators (user_id);

-- Members allowed to post in a restricted community.
CREATE TABLE community_approved (
    community_id uuid NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    approved_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (community_id, user_id)
);

CREATE TABLE posts (
    id            uuid PRIMARY KEY,          -- v7: time-ordered, so "new" is an id scan
    community_id  uuid NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    author_id     uuid REFERENCES users (id) ON DELETE SET NULL,
    title         text NOT NULL,
    body          text NOT NULL DEFAULT '',
    body_html     text NOT NULL DEFAULT '',  -- rendered and sanitized at write time
    url           text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    edited_at     timestamptz,
    deleted_at    timestamptz,
    removed_at    timestamptz,
    locked        boolean NOT NULL DEFAULT false,
    pinned_at     timestamptz,
    score         integer NOT NULL DEFAULT 0,
    upvotes       integer NOT NULL DEFAULT 0,
    downvotes     integer NOT NULL DEFAULT 0,
    comment_count integer NOT NULL DEFAULT 0,
    hot           double precision GENERATED ALWAYS AS (hot_rank(score, created_at)) STORED,
    controversy   double precision GENERATED ALWAYS AS (controversy_rank(upvotes, downvotes)) STORED,
    search        tsvector GENERATED ALWAYS AS (
                      setweight(to_tsvector('english', title), 'A')
                      || setweight(to_tsvector('english', body), 'B')) STORED
);
-- Listings read only visible posts; every sort has an index in its order, globally and per
-- community, so a page is an index range scan.
CREATE INDEX posts_hot_idx ON posts (hot DESC, id DESC) WHERE deleted_at IS NULL AND removed_at IS NULL;
CREATE INDEX posts_community_hot_idx ON posts (community_id, hot DESC, id DESC) WHERE deleted_at IS NULL AND removed_at IS NULL;
CREATE INDEX posts_new_idx ON posts (id DESC) WHERE deleted_at IS NULL AND removed_at IS NULL;
CREATE INDEX posts_community_new_idx ON posts (community_id, id DESC) WHERE deleted_at IS NULL AND removed_at IS NULL;
CREATE INDEX posts_top_idx ON posts (score DESC, id DESC) WHERE deleted_at IS NULL AND removed_at IS NULL;
CREATE INDEX posts_community_top_idx ON posts (community_id, score DESC, id DESC) WHERE deleted_at IS NULL AND removed_at IS NULL;
CREATE INDEX posts_controversial_idx ON posts (controversy DESC, id DESC) WHERE deleted_at IS NULL AND removed_at IS NULL;
CREATE INDEX posts_community_controversial_idx ON posts (community_id, controversy DESC, id DESC) WHERE deleted_at IS NULL AND removed_at IS NULL;
CREATE INDEX posts_created_idx ON posts (created_at) WHERE deleted_at IS NULL AND removed_at IS NULL;
CREATE INDEX posts_community_pinned_idx ON posts (community_id, pinned_at) WHERE pinned_at IS NOT NULL;
CREATE INDEX posts_author_idx ON posts (author_id, id DESC);
CREATE INDEX posts_search_idx ON posts USING gin (search);

CREATE TABLE saved_posts (
    user_id  uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    post_id  uuid NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    saved_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, post_id)
);
CREATE INDEX saved_posts_user_idx ON saved_posts (user_id, saved_at DESC, post_id DESC);

CREATE TABLE post_votes (
    user_id  uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    post_id  uuid NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    -- 0 is "no vote": a cleared vote keeps its row, so every vote is one locked upsert.
    value    smallint NOT NULL CHECK (value IN (-1, 0, 1)),
    voted_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, post_id)
);
CREATE INDEX post_votes_post_idx ON post_votes (post_id);
