#!/usr/bin/env bash
# The PostgreSQL tests that need a server: common/store/pg.c (test_pg) and
# snowflake-sink's write path with batches made by the test
# (test_snowflake_store), against a throwaway PostgreSQL of the local stack.
set -euo pipefail
source "$SENSORY_SOURCE_DIR/tests/tools/itest.sh"

start_postgres "$T"
for t in test_pg test_snowflake_store; do
  check "$t against PostgreSQL" "$SENSORY_BUILD/tests/$t"
done
finish
