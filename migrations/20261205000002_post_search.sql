-- Search moves out of `posts` into a narrow table with a RUM index.
--
-- Before: `posts.search` (a generated tsvector) with a GIN index. Every vote rewrote the posts
-- row with new score/hot/controversy, so the GIN index got a new entry per vote, and a search
-- ranked every match with ts_rank_cd, reading each match's heap page (~13k pages a query for a
-- common word on the large set).
-- After: `post_search` holds one row per visible post (title + body as a weighted tsvector) and
-- is written only when a post is created, edited, deleted, removed or restored: votes no longer
-- touch it. Its RUM index stores lexeme positions, so `ORDER BY search <=> query` ranks inside
-- the index (no heap reads) and a page reads only the rows it returns.
--
-- RUM is not a trusted extension: a superuser creates it (scripts/lib/stack.sh does, in
-- template1 and in every database owned by the forum role; docker/ uses an image with it).
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'rum') THEN
        RAISE EXCEPTION 'the rum extension is missing in database %', current_database()
            USING HINT = 'as a superuser: CREATE EXTENSION rum; (Debian: apt install postgresql-<version>-rum; scripts/stack.sh does both)';
    END IF;
END $$;

CREATE TABLE post_search (
    post_id      uuid PRIMARY KEY REFERENCES posts (id) ON DELETE CASCADE,
    community_id uuid NOT NULL,
    search       tsvector NOT NULL
);

CREATE FUNCTION post_search_document(title text, body text) RETURNS tsvector
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN setweight(to_tsvector('english', title), 'A') || setweight(to_tsvector('english', body), 'B');

-- Keeps post_search equal to "the visible posts": one trigger, so no write path can forget it.
CREATE FUNCTION post_search_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.deleted_at IS NULL AND NEW.removed_at IS NULL THEN
        INSERT INTO post_search (post_id, community_id, search)
        VALUES (NEW.id, NEW.community_id, post_search_document(NEW.title, NEW.body))
        ON CONFLICT (post_id) DO UPDATE
            SET community_id = EXCLUDED.community_id, search = EXCLUDED.search;
    ELSIF TG_OP = 'UPDATE' THEN
        DELETE FROM post_search WHERE post_id = NEW.id;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER posts_search_insert AFTER INSERT ON posts
    FOR EACH ROW EXECUTE FUNCTION post_search_sync();
-- Only the columns search depends on: votes and counters never fire it.
CREATE TRIGGER posts_search_update AFTER UPDATE OF title, body, deleted_at, removed_at, community_id ON posts
    FOR EACH ROW
    WHEN (OLD.title IS DISTINCT FROM NEW.title OR OLD.body IS DISTINCT FROM NEW.body
          OR (OLD.deleted_at IS NULL) <> (NEW.deleted_at IS NULL)
          OR (OLD.removed_at IS NULL) <> (NEW.removed_at IS NULL)
          OR OLD.community_id <> NEW.community_id)
    EXECUTE FUNCTION post_search_sync();

INSERT INTO post_search (post_id, community_id, search)
SELECT id, community_id, post_search_document(title, body)
  FROM posts
 WHERE deleted_at IS NULL AND removed_at IS NULL;

CREATE INDEX post_search_rum_idx ON post_search USING rum (search rum_tsvector_ops);
CREATE INDEX post_search_community_idx ON post_search (community_id);

DROP INDEX posts_search_idx;
ALTER TABLE posts DROP COLUMN search;
