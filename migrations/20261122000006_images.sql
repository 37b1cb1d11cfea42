-- Uploaded images: the original in object storage, processed by a job into WebP variants.
CREATE TABLE images (
    id           uuid PRIMARY KEY,
    owner_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- NULL for avatars.
    post_id      uuid REFERENCES posts (id) ON DELETE CASCADE,
    purpose      text NOT NULL CHECK (purpose IN ('post', 'avatar')),
    state        text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'ready', 'failed')),
    original_key text NOT NULL,
    byte_size    bigint NOT NULL,
    sha256       text NOT NULL,
    -- The format sniffed at upload (jpeg, png, gif, webp); the job checks it again.
    format       text NOT NULL,
    width        integer,
    height       integer,
    -- [{width, height, url}], smallest first.
    variants     jsonb NOT NULL DEFAULT '[]',
    error        text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    processed_at timestamptz
);
CREATE INDEX images_post_idx ON images (post_id, created_at) WHERE post_id IS NOT NULL;
CREATE INDEX images_owner_idx ON images (owner_id, created_at);

-- Ready images of a post, denormalized so listings need no extra query.
ALTER TABLE posts ADD COLUMN images jsonb NOT NULL DEFAULT '[]';
