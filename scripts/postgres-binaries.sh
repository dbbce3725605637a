#!/usr/bin/env bash
# The integration and e2e suites start their own PostgreSQL from the server binaries (tests/support/postgres.py),
# never skipped. When there is no initdb, install Debian's package (as root, with apt-get), without the
# distribution's own cluster: createcluster.conf, which the package's ucf keeps as it finds it, says not to make one.
set -euo pipefail
if command -v initdb >/dev/null || compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then
    exit 0
fi
if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null; then
    echo "the tests need PostgreSQL's server binaries: install them (Debian/Ubuntu: sudo apt-get install postgresql)" >&2
    exit 1
fi
echo "installing PostgreSQL's server binaries (Debian's postgresql package) for the tests" >&2
mkdir -p /etc/postgresql-common
echo 'create_main_cluster = false' >/etc/postgresql-common/createcluster.conf
apt-get update -qq
DEBIAN_FRONTEND=noninteractive UCF_FORCE_CONFFOLD=1 apt-get install -y -qq postgresql >/dev/null
