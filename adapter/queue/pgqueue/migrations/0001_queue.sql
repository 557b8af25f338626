-- The queue of fsepuglia serve (adapter/queue). One row per document; the body is kept
-- until the document is done. Times are the database's (now()), so that instances on
-- machines with skewed clocks agree on leases.
CREATE TABLE fsepuglia_queue (
    key          text PRIMARY KEY,
    seq          bigserial UNIQUE,
    unique_id    text NOT NULL,
    sha256       text NOT NULL,
    size         bigint NOT NULL,
    path         text NOT NULL DEFAULT '',
    source       text NOT NULL DEFAULT '',
    metadata     text NOT NULL DEFAULT '',
    body         bytea,
    state        text NOT NULL CHECK (state IN ('queued', 'sending', 'in-doubt', 'done', 'failed')),
    outcome      text NOT NULL DEFAULT '',
    reason       text NOT NULL DEFAULT '',
    fault_class  text NOT NULL DEFAULT '',
    fault_code   text NOT NULL DEFAULT '',
    retryable    boolean NOT NULL DEFAULT false,
    answered     boolean NOT NULL DEFAULT false,
    attempts     integer NOT NULL DEFAULT 0,
    route        text NOT NULL DEFAULT '',
    workflow_id  text NOT NULL DEFAULT '',
    next_at      timestamptz NOT NULL DEFAULT now(),
    lease_until  timestamptz,
    owner        text NOT NULL DEFAULT '',
    token        bigint NOT NULL DEFAULT 0,
    enqueued     timestamptz NOT NULL DEFAULT now(),
    updated      timestamptz NOT NULL DEFAULT now()
);
-- Claimable now: queued, or in doubt and retryable, by next_at then enqueue order.
CREATE INDEX fsepuglia_queue_ready ON fsepuglia_queue (next_at, seq)
    WHERE state = 'queued' OR (state = 'in-doubt' AND retryable);
-- Claims whose lease may have run out.
CREATE INDEX fsepuglia_queue_lease ON fsepuglia_queue (lease_until) WHERE state = 'sending';
CREATE INDEX fsepuglia_queue_state ON fsepuglia_queue (state, seq);
