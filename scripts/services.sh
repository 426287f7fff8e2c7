# Sourced by scripts/test and .ci/run: installs (Debian packages, as root) and starts what the
# tests need when it is missing: PostgreSQL, Redis, Chromium with chromedriver.
#
# AIQ_TEST_DATABASE_URL and AIQ_TEST_REDIS_URL choose the servers the tests use (defaults: the
# local ones on their standard ports). Only the defaults are installed and started here; a
# server named by those variables elsewhere must already answer.

AIQ_DEFAULT_DATABASE_URL="postgres://postgres@127.0.0.1:5432/postgres"
AIQ_DEFAULT_REDIS_URL="redis://127.0.0.1:6379/0"
export AIQ_TEST_DATABASE_URL="${AIQ_TEST_DATABASE_URL:-$AIQ_DEFAULT_DATABASE_URL}"
export AIQ_TEST_REDIS_URL="${AIQ_TEST_REDIS_URL:-$AIQ_DEFAULT_REDIS_URL}"

services_log() { printf '\n== %s\n' "$*"; }

apt_install() {
  if [ "$(id -u)" != 0 ]; then
    echo "missing: $* (install these Debian packages, or run this script as root)" >&2
    exit 1
  fi
  if [ -z "${APT_UPDATED:-}" ]; then apt-get update -qq; APT_UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

ensure_postgres() {
  command -v pg_isready >/dev/null || apt_install postgresql-client
  if pg_isready -q -d "$AIQ_TEST_DATABASE_URL" 2>/dev/null; then return; fi
  if [ "$AIQ_TEST_DATABASE_URL" != "$AIQ_DEFAULT_DATABASE_URL" ]; then
    echo "AIQ_TEST_DATABASE_URL does not answer; start that server or unset the variable" >&2
    exit 1
  fi
  services_log "starting PostgreSQL"
  command -v pg_ctlcluster >/dev/null || apt_install postgresql
  local version
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  local hba="/etc/postgresql/$version/main/pg_hba.conf"
  # Tests connect as postgres over TCP without a password, as on the project's machines.
  if ! grep -q '^host all all 127.0.0.1/32 trust' "$hba"; then
    sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
  fi
  pg_ctlcluster --skip-systemctl-redirect "$version" main start ||
    pg_ctlcluster --skip-systemctl-redirect "$version" main reload
  for _ in $(seq 1 30); do
    pg_isready -q -d "$AIQ_TEST_DATABASE_URL" && return
    sleep 1
  done
  echo "PostgreSQL did not start" >&2
  exit 1
}

ensure_redis() {
  command -v redis-cli >/dev/null || apt_install redis-tools
  if redis-cli -u "$AIQ_TEST_REDIS_URL" ping >/dev/null 2>&1; then return; fi
  if [ "$AIQ_TEST_REDIS_URL" != "$AIQ_DEFAULT_REDIS_URL" ]; then
    echo "AIQ_TEST_REDIS_URL does not answer; start that server or unset the variable" >&2
    exit 1
  fi
  services_log "starting Redis"
  command -v redis-server >/dev/null || apt_install redis-server
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/aiq-tests.log
  for _ in $(seq 1 30); do
    redis-cli -u "$AIQ_TEST_REDIS_URL" ping >/dev/null 2>&1 && return
    sleep 1
  done
  echo "Redis did not start" >&2
  exit 1
}

# The admin dashboard's browser test drives headless Chromium through chromedriver; it fails
# (it is never skipped) without them. Tests that stop and restart a Redis of their own start
# private `redis-server` processes, which a Redis reached elsewhere does not provide.
ensure_test_tools() {
  if ! command -v chromedriver >/dev/null || ! command -v chromium >/dev/null; then
    services_log "installing chromium and chromium-driver"
    apt_install chromium chromium-driver
  fi
  command -v redis-server >/dev/null || apt_install redis-server
}

ensure_test_services() {
  ensure_postgres
  ensure_redis
  ensure_test_tools
}
