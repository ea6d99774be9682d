"""Bring up the two real components the platform stands on, on this machine.

- RabbitMQ: one already listening on 5672, else Debian's ``rabbitmq-server``
  (installed with apt when missing) started detached.
- A MongoDB-wire server: ``MONGO_URI`` when set, else a ``mongod`` on PATH,
  else FerretDB 1.24.2 over Debian's PostgreSQL (installed with apt when
  missing), built from the pinned module in ``tools/ferretdb`` into the
  git-ignored ``.cache/bin``.

Everything listens on loopback only.
Usage: ``python -m tools.infra up`` prints the URIs to export.
"""

import hashlib
import json
import os
import re
import secrets
import shutil
import socket
import string
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

from shared.auth import new_key
from shared.sealing import new_seal_key

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache"
DATA = ROOT / ".data"
AMQP_URI = "amqp://guest:guest@127.0.0.1:5672/"
MONGO_PORT = 27017
# FerretDB's live heap is small and it allocates a fresh copy of every document it
# converts, so Go's collector, at its default target (GOGC=100), ran almost without
# pause: 28 % of FerretDB's CPU under the benchmark's flow (2026-12-04), 8 % with a
# target four times higher, which trades some memory for it (README, "Performance").
# mongod ignores it.
FERRETDB_ENV = {"GOGC": "400"}
PG_PORT = 54320
# Go's profiler inside FerretDB, for `go tool pprof` when the database is the bound.
FERRETDB_PROFILER_PORT = 27080


def log(msg):
    print(f"[infra] {msg}", file=sys.stderr, flush=True)


def listening(port, host="127.0.0.1"):
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def wait_for_port(port, what, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if listening(port):
            return
        time.sleep(0.2)
    raise RuntimeError(f"{what} did not listen on 127.0.0.1:{port} within {timeout}s")


def wait_for_port_closed(port, timeout=30):
    deadline = time.monotonic() + timeout
    while listening(port) and time.monotonic() < deadline:
        time.sleep(0.2)


def add_vhost(label, amqp_uri):
    """A RabbitMQ virtual host of a run's own (a test session, the fault suite, the
    benchmark), so it never disturbs another: its name, and the URI into it."""
    vhost = f"{label}-{secrets.token_hex(4)}"
    subprocess.run(["rabbitmqctl", "-q", "add_vhost", vhost], check=True)
    subprocess.run(["rabbitmqctl", "-q", "set_permissions", "-p", vhost, "guest", ".*", ".*",
                    ".*"], check=True)
    return vhost, amqp_uri + quote(vhost, safe="")


def delete_vhost(vhost):
    subprocess.run(["rabbitmqctl", "-q", "delete_vhost", vhost], check=False)


def new_database_prefix():
    """A fresh prefix for a run's databases; FerretDB accepts Latin letters only."""
    return "t" + "".join(secrets.choice(string.ascii_lowercase) for _ in range(6))


def drop_databases(client, prefix):
    """Drop a run's databases: every one whose name starts with its prefix."""
    for name in client.list_database_names():
        if name.startswith(prefix):
            client.drop_database(name)


def ensure_rabbitmq():
    if listening(5672):
        return AMQP_URI
    if not shutil.which("rabbitmq-server"):
        install_with_apt("rabbitmq-server")
    log("starting rabbitmq-server")
    # Loopback only: the guest user is only allowed from localhost anyway.
    env = dict(os.environ, RABBITMQ_NODE_IP_ADDRESS="127.0.0.1")
    subprocess.run(["rabbitmq-server", "-detached"], check=True, env=env)
    # Right after -detached the node may not have registered yet, and await_startup
    # then fails at once instead of waiting: ask again until the deadline.
    deadline = time.monotonic() + 120
    while subprocess.run(["rabbitmqctl", "await_startup", "--timeout", "30"],
                         capture_output=True).returncode != 0:
        if time.monotonic() > deadline:
            raise RuntimeError("RabbitMQ did not start within 120 s; see /var/log/rabbitmq/")
        time.sleep(1)
    subprocess.run(["rabbitmq-plugins", "enable", "rabbitmq_management"], check=True,
                   stdout=subprocess.DEVNULL)
    wait_for_port(5672, "RabbitMQ")
    return AMQP_URI


# FerretDB 1.x applies update, findAndModify and delete as query, change in Go,
# write back, with nothing stopping two connections from interleaving: on this
# machine 500 concurrent $inc of one document left it at 12. Real MongoDB
# makes each single-document write atomic, and the platform's outbox and
# optimistic locking rely on that, so our build serialises those three commands
# per collection (tests/integration/test_database_atomicity.py proves it); writes
# to different collections, as the services' are, still run in parallel.
ATOMIC_WRITES = ("msg_update.go", "msg_findandmodify.go", "msg_delete.go")
WRITE_LOCK_GO = """package handler

import (
	"fmt"
	"sync"

	"github.com/FerretDB/wire"

	"github.com/FerretDB/FerretDB/internal/bson"
)

// collectionLocks holds one mutex per database and collection.
var collectionLocks sync.Map

// lockCollection makes a read-modify-write command atomic with respect to the others
// on its collection; it returns the unlock.
func lockCollection(msg *wire.OpMsg) func() {
	key := ""
	if doc, err := bson.ToDocument(msg.RawSection0()); err == nil {
		db, _ := doc.Get("$db")
		collection, _ := doc.Get(doc.Command())
		key = fmt.Sprintf("%v.%v", db, collection)
	}
	mu, _ := collectionLocks.LoadOrStore(key, &sync.Mutex{})
	mu.(*sync.Mutex).Lock()
	return mu.(*sync.Mutex).Unlock
}
"""

# FerretDB 1.x on PostgreSQL pushes an equality filter down as
# `_jsonb->'field' @> value` (containment, so that arrays match their elements as
# in MongoDB), but builds each index as a btree on `_jsonb->'field'`, which `@>`
# cannot use: every query, even by _id, scanned the table (15 ms at 50,000
# documents). Our build adds a GIN (jsonb_path_ops) twin of each index, which
# serves `@>`; the btree stays for uniqueness. PostgreSQL must plan with the
# query's values (plan_cache_mode=force_custom_plan) to match the expressions.
# The twins are built without GIN's pending list (fastupdate): every update of a
# petition adds to each of its indexes, and every search read the whole list
# until a vacuum emptied it (the duplicate check took 10 ms on average, up to
# 155 ms, in a 2,000-petition run on 2026-12-04).
CONTAINMENT_INDEX_GO = """
\t\tginColumns := make([]string, len(columns))
\t\tfor i, column := range columns {
\t\t\tginColumns[i] = strings.TrimSuffix(column, " DESC") + " jsonb_path_ops"
\t\t}
\t\tq = fmt.Sprintf(
\t\t\t"CREATE INDEX %s ON %s USING gin (%s) WITH (fastupdate = off)",
\t\t\tpgx.Identifier{strings.TrimSuffix(index.PgIndex, "_idx") + "_gin"}.Sanitize(),
\t\t\tpgx.Identifier{dbName, c.TableName}.Sanitize(),
\t\t\tstrings.Join(ginColumns, ", "),
\t\t)
\t\tif _, err = p.Exec(ctx, q); err != nil {
\t\t\t_ = r.indexesDrop(ctx, p, dbName, collectionName, created)
\t\t\treturn lazyerrors.Error(err)
\t\t}
"""


# FerretDB pushes `_id` equality down as containment too, which the planner serves from
# a GIN twin or, on a small or newly written table whose statistics make it look cheap,
# a sequential scan that decompresses every document: 3.7 ms per lookup on average in
# a 300-petition bench. `_id` is never an array, so our build compares it with `=`,
# which the unique btree of every collection serves.
ID_EQUALITY_GO = """
		if k == "_id" {
			sql = `%[1]s%[2]s%[3]s = %[4]s`
		}
"""


# FerretDB tracks every cursor and iterator for leaks, recording its creator's stack in
# a pprof profile and setting a finalizer: 9.6 % of its CPU under the flow (2026-12-04),
# for a check that only panics on a FerretDB bug. Our build tracks nothing.
UNTRACKED_GO = "\treturn\n\n"


# FerretDB wraps every insert and update in a transaction of its own, though most write
# one document in one statement, which PostgreSQL makes atomic by itself: BEGIN and
# COMMIT were 130 of the 270 statements a petition cost (pg_stat_statements, 300
# petitions, 2026-12-04), each a round trip between FerretDB and PostgreSQL. Our build
# sends a write of one statement alone; one of several statements keeps its transaction.
SINGLE_STATEMENT_GO = """package postgresql

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/FerretDB/FerretDB/internal/backends/postgresql/metadata/pool"
)

// inTransactionUnlessSingle runs f in a transaction, unless f makes a single statement.
func inTransactionUnlessSingle(
	ctx context.Context, p *pgxpool.Pool, single bool, f func(tx pgx.Tx) error,
) error {
	if !single {
		return pool.InTransaction(ctx, p, f)
	}

	return f(poolStatement{p: p})
}

// poolStatement runs f's one statement on the pool: only Exec is ever called on it.
type poolStatement struct {
	pgx.Tx
	p *pgxpool.Pool
}

func (s poolStatement) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	return s.p.Exec(ctx, sql, args...)
}
"""
SINGLE_STATEMENT_WRITES = {
    "InsertAll": "len(params.Docs) <= c.r.BatchSize",
    "UpdateAll": "len(params.Docs) == 1",
}


# The binary is named by what our build changes, so a changed patch is built afresh.
FERRETDB = CACHE / "bin" / ("ferretdb-" + hashlib.sha256("".join(
    (WRITE_LOCK_GO, *ATOMIC_WRITES, CONTAINMENT_INDEX_GO, ID_EQUALITY_GO, UNTRACKED_GO,
     SINGLE_STATEMENT_GO, *SINGLE_STATEMENT_WRITES.values())
).encode()).hexdigest()[:12])


def build_ferretdb():
    if FERRETDB.exists():
        return
    log("building FerretDB 1.24.2 from the Go module proxy (one time, about 2 minutes)")
    module_dir = ROOT / "tools" / "ferretdb"
    info = subprocess.run(["go", "mod", "download", "-json", "github.com/FerretDB/FerretDB"],
                          cwd=module_dir, check=True, capture_output=True, text=True)
    source = CACHE / "ferretdb-src"
    shutil.rmtree(source, ignore_errors=True)
    shutil.copytree(json.loads(info.stdout)["Dir"], source)
    subprocess.run(["chmod", "-R", "u+w", str(source)], check=True)
    handler = source / "internal" / "handler"
    (handler / "zz_write_lock.go").write_text(WRITE_LOCK_GO)
    for name in ATOMIC_WRITES:
        _insert_after(handler / name, r"func \(h \*Handler\) Msg\w+\(connCtx context.Context, "
                      r"msg \*wire.OpMsg\) \(\*wire.OpMsg, error\) \{\n",
                      "\tdefer lockCollection(msg)()\n\n")
    backend = source / "internal" / "backends" / "postgresql"
    _insert_after(backend / "metadata" / "registry.go",
                  r"\n\t\tif _, err = p\.Exec\(ctx, q\); err != nil \{\n"
                  r"\t\t\t_ = r\.indexesDrop\(ctx, p, dbName, collectionName, created\)\n"
                  r"\t\t\treturn lazyerrors\.Error\(err\)\n\t\t\}\n", CONTAINMENT_INDEX_GO)
    _insert_after(backend / "query.go",
                  r"\tcase string, types\.ObjectID, time\.Time:\n"
                  r"\t\t// merge with the case below\?\n"
                  r"\t\t// TODO https://github\.com/FerretDB/FerretDB/issues/3626\n\n"
                  r"\t\t// don't change the default eq query\n", ID_EQUALITY_GO)
    (backend / "zz_single_statement.go").write_text(SINGLE_STATEMENT_GO)
    for function, single in SINGLE_STATEMENT_WRITES.items():
        _replace_once(backend / "collection.go",
                      rf"(\nfunc \(c \*collection\) {function}\(.*?)"
                      r"err = pool\.InTransaction\(ctx, p, func",
                      rf"\1err = inTransactionUnlessSingle(ctx, p, {single}, func")
    # Its only other use was those two.
    _replace_once(backend / "collection.go",
                  r'\n\t"github.com/FerretDB/FerretDB/internal/backends/postgresql/metadata/pool"', "")
    for function in ("Track", "Untrack"):
        _insert_after(source / "internal" / "util" / "resource" / "resource.go",
                      rf"\nfunc {function}\(obj any, token \*Token\) \{{\n", UNTRACKED_GO)
    build = CACHE / "ferretdb-build"
    shutil.rmtree(build, ignore_errors=True)
    shutil.copytree(module_dir, build)
    subprocess.run(["go", "mod", "edit", f"-replace=github.com/FerretDB/FerretDB={source}"],
                   cwd=build, check=True)
    FERRETDB.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["go", "build", "-mod=mod", "-o", str(FERRETDB), "."], cwd=build, check=True)


def _insert_after(path, pattern, code):
    """Insert ``code`` after the one place in ``path`` that matches ``pattern``."""
    _replace_once(path, f"({pattern})", lambda found: found.group(1) + code)


def _replace_once(path, pattern, replacement):
    """Replace the one place in ``path`` that matches ``pattern`` (across lines)."""
    patched, n = re.subn(pattern, replacement, path.read_text(), flags=re.DOTALL)
    if n != 1:
        raise RuntimeError(f"could not patch {path}: FerretDB's source is not what we expect")
    path.write_text(patched)


def install_with_apt(package):
    log(f"installing {package} from Debian (one time)")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", package], check=True, env=env,
                   stdout=subprocess.DEVNULL)


def ensure_postgresql():
    """PostgreSQL for FerretDB: Debian's server, one cluster for this machine's runs.

    PostgreSQL refuses to run as root, so as root the cluster belongs to Debian's
    ``postgres`` user in its usual home (a checkout under a private directory is out
    of that user's reach); otherwise it lives in ``.data/postgres``. Loopback only.
    Commits are synchronous: a write FerretDB acknowledged survives any crash."""
    url = f"postgres://gridgov@127.0.0.1:{PG_PORT}/ferretdb"
    if listening(PG_PORT):
        return url
    binaries = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not binaries:
        install_with_apt("postgresql")
        binaries = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    bin_dir = binaries[-1].parent
    if os.geteuid() == 0:
        data = Path("/var/lib/postgresql/gridgov")
        as_owner = ["runuser", "-u", "postgres", "--"]
    else:
        data = DATA / "postgres"
        as_owner = []
    if not (data / "PG_VERSION").exists():
        data.mkdir(parents=True, exist_ok=True)
        if as_owner:
            shutil.chown(data, "postgres", "postgres")
        subprocess.run([*as_owner, str(bin_dir / "initdb"), "-D", str(data), "-U", "gridgov",
                        "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8"],
                       check=True, stdout=subprocess.DEVNULL)
    log(f"starting PostgreSQL (log: {data / 'server.log'})")
    # FerretDB binds each field name as a parameter; only a plan made with the
    # values matches the indexes' expressions (see CONTAINMENT_INDEX_GO).
    # pg_stat_statements: what each query FerretDB sends costs (README, "The database").
    options = (f"-p {PG_PORT} -c listen_addresses=127.0.0.1 -c unix_socket_directories= "
               "-c plan_cache_mode=force_custom_plan "
               "-c shared_preload_libraries=pg_stat_statements")
    subprocess.run([*as_owner, str(bin_dir / "pg_ctl"), "-D", str(data), "-l",
                    str(data / "server.log"), "-o", options, "-w", "start"],
                   check=True, stdout=subprocess.DEVNULL)
    if not psql("SELECT 1 FROM pg_database WHERE datname = 'ferretdb'", database="postgres"):
        psql("CREATE DATABASE ferretdb", database="postgres")
    psql("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    return url


def psql(sql, database="ferretdb"):
    """Run one statement on the embedded PostgreSQL; its rows, one per line."""
    client = sorted(Path("/usr/lib/postgresql").glob("*/bin/psql"))[-1]
    return subprocess.run(
        [str(client), "-h", "127.0.0.1", "-p", str(PG_PORT), "-U", "gridgov", "-d", database,
         "-tAc", sql],
        check=True, capture_output=True, text=True,
        env={**os.environ, "PGOPTIONS": "-c client_min_messages=warning"}).stdout.split()


def ensure_mongo():
    if os.environ.get("MONGO_URI"):
        return os.environ["MONGO_URI"]
    uri = f"mongodb://127.0.0.1:{MONGO_PORT}/"
    if listening(MONGO_PORT):
        return uri
    DATA.mkdir(exist_ok=True)
    if shutil.which("mongod"):
        (DATA / "mongod").mkdir(exist_ok=True)
        cmd = ["mongod", "--bind_ip", "127.0.0.1", "--port", str(MONGO_PORT),
               "--dbpath", str(DATA / "mongod")]
        logfile = DATA / "mongod.log"
    else:
        build_ferretdb()
        cmd = [str(FERRETDB), f"--postgresql-url={ensure_postgresql()}",
               f"--listen-addr=127.0.0.1:{MONGO_PORT}",
               f"--debug-addr=127.0.0.1:{FERRETDB_PROFILER_PORT}"]
        logfile = DATA / "ferretdb.log"
    log(f"starting {Path(cmd[0]).name} (log: {logfile})")
    with open(logfile, "ab") as out:
        subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                         env={**os.environ, **FERRETDB_ENV})
    wait_for_port(MONGO_PORT, Path(cmd[0]).name)
    return uri


def vacuum(database_prefix):
    """VACUUM ANALYZE the embedded PostgreSQL's tables of the databases named with the
    prefix, as pgbench does before it measures: after a bulk load, autovacuum would
    otherwise run beside the measurements. True if it ran; False when the database is
    not the embedded FerretDB's (``MONGO_URI`` or ``mongod``)."""
    if os.environ.get("MONGO_URI") or shutil.which("mongod") or not listening(PG_PORT):
        return False
    for table in psql("SELECT format('%I.%I', schemaname, relname) FROM pg_stat_user_tables "
                       f"WHERE starts_with(schemaname, '{database_prefix}')"):
        psql(f"VACUUM (ANALYZE) {table}")
    return True


LOCAL_KEYS = DATA / "keys.json"


def local_keys():
    """This machine's keys, as the services' configuration: the token key pair (see
    tools.auth) and the key that seals personal data (shared.sealing). Made once, then
    kept, so tokens and sealed data survive a restart."""
    if not LOCAL_KEYS.exists():
        signing, public = new_key("local-1")
        LOCAL_KEYS.parent.mkdir(parents=True, exist_ok=True)
        LOCAL_KEYS.write_text(json.dumps({"AUTH_SIGNING_KEY": signing,
                                          "AUTH_PUBLIC_KEYS": public,
                                          "SEAL_KEYS": new_seal_key()}))
        LOCAL_KEYS.chmod(0o600)
    return json.loads(LOCAL_KEYS.read_text())


def up():
    """Ensure both components run; return the environment the services need, with this
    machine's token keys (see tools.auth)."""
    return {"AMQP_URI": ensure_rabbitmq(), "MONGO_URI": ensure_mongo(), **local_keys()}


if __name__ == "__main__":
    if sys.argv[1:] != ["up"]:
        sys.exit("usage: python -m tools.infra up")
    for key, value in up().items():
        print(f"export {key}={value}")
