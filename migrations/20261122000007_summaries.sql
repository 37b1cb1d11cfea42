-- Thread summaries. `thread_changes` counts what changes a thread's text (comments written,
-- edited or deleted, post edits), so a summary knows how stale it is without reading the thread.
ALTER TABLE posts ADD COLUMN thread_changes bigint NOT NULL DEFAULT 0;

CREATE TABLE post_summaries (
    post_id          uuid PRIMARY KEY REFERENCES posts (id) ON DELETE CASCADE,
    summary          text,
    provider         text,
    model            text,
    input_tokens     integer NOT NULL DEFAULT 0,
    output_tokens    integer NOT NULL DEFAULT 0,
    cost_usd         double precision NOT NULL DEFAULT 0,
    -- sha256 of the text the summary was made from: an unchanged thread is not re-summarized.
    content_hash     text,
    comment_count_at integer NOT NULL DEFAULT 0,
    changes_at       bigint NOT NULL DEFAULT 0,
    generated_at     timestamptz,
    -- Set while a job is queued, so concurrent requests enqueue one.
    requested_at     timestamptz
);
