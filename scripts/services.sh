#!/usr/bin/env bash
# Starts what the test suite talks to when it is installed but down: PostgreSQL
# (127.0.0.1:5432, database `test`) and Redis (127.0.0.1:6379). Never installs a server:
# a machine without one runs the suite with those tests skipped (or failed under
# ADKSTREAM_REQUIRE_SERVICES=1).
set -u

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() {
  for _ in $(seq 1 50); do port_open "$1" && return 0; sleep 0.2; done
  return 1
}

if ! port_open 5432 && command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
  version=$(ls /etc/postgresql | head -n 1)
  echo "services: starting PostgreSQL $version"
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  wait_port 5432 || echo "services: PostgreSQL did not come up"
fi
if port_open 5432 && command -v psql >/dev/null 2>&1; then
  # The database the tests use; creating it twice is harmless.
  psql -h 127.0.0.1 -U postgres -tc "SELECT 1 FROM pg_database WHERE datname='test'" 2>/dev/null \
    | grep -q 1 || psql -h 127.0.0.1 -U postgres -c "CREATE DATABASE test" >/dev/null 2>&1 || true
fi

if ! port_open 6379 && command -v redis-server >/dev/null 2>&1; then
  echo "services: starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no || true
  wait_port 6379 || echo "services: Redis did not come up"
fi
exit 0
