-- Emails handed to the mail transport, by message key: a retried job does not send twice.
CREATE TABLE sent_emails (
    key        uuid PRIMARY KEY,
    message_id text NOT NULL,
    sent_at    timestamptz NOT NULL DEFAULT now()
);
