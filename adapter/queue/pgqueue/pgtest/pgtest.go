// Package pgtest gives tests a PostgreSQL database of their own: a fresh schema in the
// database named by FSEPUGLIA_TEST_POSTGRES (.ci/postgres.sh starts one and exports it). Where
// the variable is not set the test is skipped with a message, or fails under
// FSEPUGLIA_REQUIRE_CHECKERS=1 (CI).
package pgtest

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fsepuglia/fsepuglia/adapter/internal/testenv"
	"github.com/jackc/pgx/v5"
)

// Env names the variable holding the test server's DSN.
const Env = "FSEPUGLIA_TEST_POSTGRES"

var n atomic.Int64

// DSN returns a DSN whose search_path is a new, empty schema, dropped when the test ends.
func DSN(t testing.TB) string {
	t.Helper()
	base := os.Getenv(Env)
	if base == "" {
		testenv.Missing(t, "PostgreSQL ("+Env+" is not set)", "eval \"$(bash .ci/postgres.sh)\" starts one")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("PostgreSQL at %s: %v", Env, err)
	}
	defer conn.Close(ctx)
	schema := fmt.Sprintf("t_%d_%d_%d", os.Getpid(), time.Now().UnixNano()%1e9, n.Add(1))
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if c, err := pgx.Connect(ctx, base); err == nil {
			_, _ = c.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE")
			_ = c.Close(ctx)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return strings.TrimSpace(u.String())
}
