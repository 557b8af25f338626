// Package pgqueue is the PostgreSQL store of adapter/queue, for several `fsepuglia serve`
// instances sharing one queue: items are claimed with `FOR UPDATE SKIP LOCKED` and a lease,
// settled with a compare-and-set on the claim's fencing token, and a claim whose lease ran out
// (its instance crashed) is claimed again and reconciled as in doubt (queue.Work). The schema
// is embedded (migrations/) and applied at Open, under an advisory lock so that instances
// starting together apply it once. DESIGN.md says why this and not a job-queue library.
package pgqueue

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/fsepuglia/fsepuglia/adapter/queue"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

//go:embed migrations/*.sql
var migrations embed.FS

// migrationLock is the advisory lock key held while migrations run ("fsepugli" in ASCII).
const migrationLock int64 = 0x66736570756769

// Store is a queue.Store on PostgreSQL.
type Store struct {
	pool *pgxpool.Pool
}

var _ queue.Store = (*Store)(nil)

// Open connects to dsn (postgres://user@host:port/db?sslmode=…), applies the embedded
// migrations not yet applied and returns the store.
func Open(ctx context.Context, dsn string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("pgqueue: %w", redactDSN(err, dsn))
	}
	if cfg.MaxConns < 8 {
		cfg.MaxConns = 8
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("pgqueue: %w", err)
	}
	if err := migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, err
	}
	return &Store{pool: pool}, nil
}

// redactDSN keeps a password out of an error message.
func redactDSN(err error, dsn string) error {
	msg := err.Error()
	if i := strings.Index(dsn, "://"); i >= 0 {
		if at := strings.Index(dsn[i+3:], "@"); at >= 0 {
			if c := strings.Index(dsn[i+3:i+3+at], ":"); c >= 0 {
				msg = strings.ReplaceAll(msg, dsn[i+3+c+1:i+3+at], "xxxxx")
			}
		}
	}
	return errors.New(msg)
}

// Migrations returns the names of the embedded migrations, in the order they are applied.
func Migrations() []string {
	names, _ := fs.Glob(migrations, "migrations/*.sql")
	sort.Strings(names)
	return names
}

func migrate(ctx context.Context, pool *pgxpool.Pool) error {
	tx, err := pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("pgqueue: migrations: %w", err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // after Commit it is a no-op
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, migrationLock); err != nil {
		return fmt.Errorf("pgqueue: migrations: %w", err)
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS fsepuglia_schema (
		version integer PRIMARY KEY, name text NOT NULL, applied timestamptz NOT NULL DEFAULT now())`); err != nil {
		return fmt.Errorf("pgqueue: migrations: %w", err)
	}
	var have int
	if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM fsepuglia_schema`).Scan(&have); err != nil {
		return fmt.Errorf("pgqueue: migrations: %w", err)
	}
	names := Migrations()
	if have > len(names) {
		return fmt.Errorf("pgqueue: the database's queue schema is version %d, newer than this fsepuglia (%d): upgrade fsepuglia", have, len(names))
	}
	for i, name := range names[have:] {
		sql, err := migrations.ReadFile(name)
		if err != nil {
			return fmt.Errorf("pgqueue: migration %s: %w", name, err)
		}
		if _, err := tx.Exec(ctx, string(sql)); err != nil {
			return fmt.Errorf("pgqueue: migration %s: %w", name, err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO fsepuglia_schema (version, name) VALUES ($1, $2)`, have+i+1, name); err != nil {
			return fmt.Errorf("pgqueue: migration %s: %w", name, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("pgqueue: migrations: %w", err)
	}
	return nil
}

// Close closes the connection pool.
func (s *Store) Close() error { s.pool.Close(); return nil }

// Ping checks that the database answers (readiness).
func (s *Store) Ping(ctx context.Context) error { return s.pool.Ping(ctx) }

const columns = `key, seq, unique_id, sha256, size, path, source, metadata, state, outcome, reason,
	fault_class, fault_code, retryable, answered, attempts, route, workflow_id, next_at, lease_until, owner, token, enqueued, updated`

func scan(row pgx.Row, withBody bool) (queue.Item, error) {
	var it queue.Item
	var meta, state, outcome string
	var lease *time.Time
	dest := []any{&it.Key, &it.Seq, &it.UniqueID, &it.SHA256, &it.Size, &it.Path, &it.Source, &meta, &state, &outcome, &it.Reason,
		&it.FaultClass, &it.FaultCode, &it.Retryable, &it.Answered, &it.Attempts, &it.Route, &it.WorkflowID, &it.NextAt, &lease, &it.Owner, &it.Token,
		&it.Enqueued, &it.Updated}
	if withBody {
		dest = append(dest, &it.Body)
	}
	if err := row.Scan(dest...); err != nil {
		return queue.Item{}, err
	}
	if meta != "" {
		it.Metadata = []byte(meta)
	}
	it.State, it.Outcome = queue.State(state), queue.Outcome(outcome)
	if lease != nil {
		it.LeaseUntil = lease.UTC()
	}
	it.NextAt, it.Enqueued, it.Updated = it.NextAt.UTC(), it.Enqueued.UTC(), it.Updated.UTC()
	return it, nil
}

// Enqueue implements queue.Store.
func (s *Store) Enqueue(ctx context.Context, entries []queue.Entry) (queue.EnqueueResult, error) {
	res := queue.EnqueueResult{Keys: make([]string, 0, len(entries))}
	for i, e := range entries {
		if e.SHA256 == "" || e.UniqueID == "" {
			return queue.EnqueueResult{}, fmt.Errorf("pgqueue: entry %d (%s): sha256 and unique id are required", i, e.Path)
		}
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		for _, e := range entries {
			key := queue.Key(e.SHA256, e.UniqueID)
			res.Keys = append(res.Keys, key)
			var inserted bool
			err := tx.QueryRow(ctx, `INSERT INTO fsepuglia_queue AS q (key, unique_id, sha256, size, path, source, metadata, body, state)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'queued')
				ON CONFLICT (key) DO UPDATE SET state = 'queued', path = EXCLUDED.path, source = EXCLUDED.source,
					metadata = EXCLUDED.metadata, body = EXCLUDED.body, reason = '', fault_class = '', fault_code = '',
					retryable = false, answered = false, next_at = now(), updated = now()
				WHERE q.state = 'failed'
				RETURNING (xmax = 0)`, key, e.UniqueID, e.SHA256, e.Size, e.Path, e.Source, string(e.Metadata), e.Body).Scan(&inserted)
			switch {
			case errors.Is(err, pgx.ErrNoRows):
				res.Existing++
			case err != nil:
				return fmt.Errorf("pgqueue: enqueue %s: %w", e.UniqueID, err)
			case inserted:
				res.Added++
			default:
				res.Requeued++
			}
		}
		return nil
	})
	if err != nil {
		return queue.EnqueueResult{}, err
	}
	return res, nil
}

// Get implements queue.Store.
func (s *Store) Get(ctx context.Context, key string) (queue.Item, error) {
	it, err := scan(s.pool.QueryRow(ctx, `SELECT `+columns+` FROM fsepuglia_queue WHERE key = $1`, key), false)
	if errors.Is(err, pgx.ErrNoRows) {
		return queue.Item{}, fmt.Errorf("%s: %w", key, queue.ErrNotFound)
	}
	if err != nil {
		return queue.Item{}, fmt.Errorf("pgqueue: %w", err)
	}
	return it, nil
}

// List implements queue.Store.
func (s *Store) List(ctx context.Context, f queue.Filter) ([]queue.Item, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 1000
	}
	states := make([]string, 0, len(f.States))
	for _, st := range f.States {
		states = append(states, string(st))
	}
	rows, err := s.pool.Query(ctx, `SELECT `+columns+` FROM fsepuglia_queue
		WHERE seq > $1 AND (cardinality($2::text[]) = 0 OR state = ANY($2)) ORDER BY seq LIMIT $3`, f.After, states, limit)
	if err != nil {
		return nil, fmt.Errorf("pgqueue: %w", err)
	}
	defer rows.Close()
	var items []queue.Item
	for rows.Next() {
		it, err := scan(rows, false)
		if err != nil {
			return nil, fmt.Errorf("pgqueue: %w", err)
		}
		items = append(items, it)
	}
	return items, rows.Err()
}

// Counts implements queue.Store. A sending item whose lease ran out counts as in doubt.
func (s *Store) Counts(ctx context.Context) (map[queue.State]int, error) {
	rows, err := s.pool.Query(ctx, `SELECT CASE WHEN state = 'sending' AND lease_until < now() THEN 'in-doubt' ELSE state END, count(*)
		FROM fsepuglia_queue GROUP BY 1`)
	if err != nil {
		return nil, fmt.Errorf("pgqueue: %w", err)
	}
	defer rows.Close()
	out := map[queue.State]int{}
	for rows.Next() {
		var st string
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return nil, fmt.Errorf("pgqueue: %w", err)
		}
		out[queue.State(st)] += n
	}
	return out, rows.Err()
}

// Retry implements queue.Store.
func (s *Store) Retry(ctx context.Context, key string) (queue.Item, error) {
	it, err := scan(s.pool.QueryRow(ctx, `UPDATE fsepuglia_queue SET
			state = CASE WHEN state = 'in-doubt' THEN 'in-doubt' ELSE 'queued' END,
			retryable = true, next_at = now(), updated = now()
		WHERE key = $1 AND state IN ('failed', 'in-doubt', 'queued') RETURNING `+columns, key), false)
	if errors.Is(err, pgx.ErrNoRows) {
		cur, gerr := s.Get(ctx, key)
		if gerr != nil {
			return queue.Item{}, gerr
		}
		if cur.State == queue.Sending {
			return queue.Item{}, fmt.Errorf("%s: %w", key, queue.ErrBusy)
		}
		return cur, nil // done: nothing to retry
	}
	if err != nil {
		return queue.Item{}, fmt.Errorf("pgqueue: %w", err)
	}
	return it, nil
}

// Forget implements queue.Store. An item being sent (live lease) cannot be forgotten.
func (s *Store) Forget(ctx context.Context, key string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM fsepuglia_queue WHERE key = $1 AND NOT (state = 'sending' AND lease_until >= now())`, key)
	if err != nil {
		return fmt.Errorf("pgqueue: %w", err)
	}
	if tag.RowsAffected() == 0 {
		if _, err := s.Get(ctx, key); err != nil {
			return err
		}
		return fmt.Errorf("%s: %w", key, queue.ErrBusy)
	}
	return nil
}

// ForgetDone implements queue.Store.
func (s *Store) ForgetDone(ctx context.Context, before time.Time) (int, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM fsepuglia_queue WHERE state = 'done' AND updated < $1`, before)
	if err != nil {
		return 0, fmt.Errorf("pgqueue: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

func interval(d time.Duration) string {
	return strconv.FormatInt(d.Microseconds(), 10) + " microseconds"
}

// Claim implements queue.Store: one statement, the row locked with SKIP LOCKED so that
// concurrent claimers never wait on each other nor take the same row.
func (s *Store) Claim(ctx context.Context, owner string, lease time.Duration) (queue.Item, bool, error) {
	it, err := scan(s.pool.QueryRow(ctx, `UPDATE fsepuglia_queue SET state = 'sending', owner = $1, token = token + 1,
			attempts = attempts + 1, lease_until = now() + $2::interval, updated = now()
		WHERE key = (
			SELECT key FROM fsepuglia_queue
			WHERE ((state = 'queued' OR (state = 'in-doubt' AND retryable)) AND next_at <= now())
			   OR (state = 'sending' AND lease_until < now())
			ORDER BY seq LIMIT 1 FOR UPDATE SKIP LOCKED)
		RETURNING `+columns+`, body`, owner, interval(lease)), true)
	if errors.Is(err, pgx.ErrNoRows) {
		return queue.Item{}, false, nil
	}
	if err != nil {
		return queue.Item{}, false, fmt.Errorf("pgqueue: claim: %w", err)
	}
	return it, true, nil
}

// Extend implements queue.Store.
func (s *Store) Extend(ctx context.Context, it queue.Item, lease time.Duration) error {
	tag, err := s.pool.Exec(ctx, `UPDATE fsepuglia_queue SET lease_until = now() + $3::interval
		WHERE key = $1 AND token = $2 AND state = 'sending'`, it.Key, it.Token, interval(lease))
	if err != nil {
		return fmt.Errorf("pgqueue: extend: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("%s: %w", it.UniqueID, queue.ErrLeaseLost)
	}
	return nil
}

// Settle implements queue.Store.
func (s *Store) Settle(ctx context.Context, it queue.Item) error {
	tag, err := s.pool.Exec(ctx, `UPDATE fsepuglia_queue SET state = $3, outcome = $4, reason = $5, fault_class = $6,
			fault_code = $7, retryable = $8, route = $9, workflow_id = $10, next_at = $11, answered = $12, lease_until = NULL, owner = '',
			body = CASE WHEN $3 = 'done' THEN NULL ELSE body END, updated = now()
		WHERE key = $1 AND token = $2 AND state = 'sending'`,
		it.Key, it.Token, string(it.State), string(it.Outcome), it.Reason, it.FaultClass, it.FaultCode, it.Retryable,
		it.Route, it.WorkflowID, nextAt(it.NextAt), it.Answered)
	if err != nil {
		return fmt.Errorf("pgqueue: settle: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("%s: %w", it.UniqueID, queue.ErrLeaseLost)
	}
	return nil
}

func nextAt(t time.Time) time.Time {
	if t.IsZero() {
		return time.Now()
	}
	return t
}

// Release implements queue.Store.
func (s *Store) Release(ctx context.Context, it queue.Item, prev queue.State) error {
	tag, err := s.pool.Exec(ctx, `UPDATE fsepuglia_queue SET state = $3, attempts = attempts - 1, lease_until = NULL, owner = '',
			next_at = now(), retryable = ($3 = 'in-doubt' OR retryable), updated = now()
		WHERE key = $1 AND token = $2 AND state = 'sending'`, it.Key, it.Token, string(prev))
	if err != nil {
		return fmt.Errorf("pgqueue: release: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("%s: %w", it.UniqueID, queue.ErrLeaseLost)
	}
	return nil
}
