"""Fixtures: an app on a fresh database per test, factories, a real SMTP
server, clients signed in per role, and a live server for browser tests.

The suite runs on SQLite by default. With PORTAL_TEST_DATABASE_URL set to a
PostgreSQL URL, the same suite runs there (the database is wiped first).

It runs in parallel (pytest-xdist, ``make test`` starts one worker per core).
Each worker has its own SQLite files, its own PostgreSQL database (the URL's
database name with the worker's name appended), its own range of loopback
ports for live servers and SMTP sinks, and its own Redis database number.
Tests marked ``exclusive`` share one xdist group, so no two of them ever run
at the same time.
"""

from __future__ import annotations

import contextvars
import itertools
import os
import re
import shutil
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from flask import has_app_context
from flask.testing import FlaskCliRunner, FlaskClient
from argon2 import PasswordHasher
from jinja2 import BytecodeCache
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.pool import NullPool

from portal import create_app
from portal.auth import services as staff_services
from portal.auth.models import Role
from portal.config import normalise_database_url
from portal.customers.models import Account, Contact, Ticket
from portal.extensions import db as _db
from portal.extensions import limiter, write_intent
from portal.settings.services import forget_cached_brand
from portal.timeutil import utcnow

PASSWORD = "correct horse battery staple"
POSTGRES_URL = os.environ.get("PORTAL_TEST_DATABASE_URL", "")

# --- this worker ----------------------------------------------------------

#: "gw0", "gw1"... under pytest-xdist; "main" when pytest runs in one process.
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")
WORKER_NUMBER = int(WORKER[2:]) if WORKER.startswith("gw") else 0

# Each worker takes its ports from its own block below Linux's ephemeral range
# (32768 and up), so two workers never pick the same free port.
_PORT_BLOCK = 1000
_ports = itertools.count(20000 + WORKER_NUMBER * _PORT_BLOCK)


def free_port() -> int:
    """A loopback port nobody listens on, from this worker's own block."""
    for port in _ports:
        if port >= 20000 + (WORKER_NUMBER + 1) * _PORT_BLOCK:
            break
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"worker {WORKER} used up its {_PORT_BLOCK} ports")


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups
def pytest_collection_modifyitems(items) -> None:
    """Tests marked ``exclusive`` form one xdist group: one worker runs them one after another."""
    for item in items:
        if item.get_closest_marker("exclusive"):
            item.add_marker(pytest.mark.xdist_group("exclusive"))


# --- cheap work that production does expensively ---------------------------

#: The hasher production uses (Argon2id with the library's recommended cost);
#: test_auth checks it still is. Tests hash with the same algorithm at the
#: lowest cost, which saves about 0.3 s per sign-in and per staff user made.
PRODUCTION_PASSWORD_HASHER = staff_services._hasher
_TEST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
staff_services._hasher = _TEST_HASHER
staff_services._DUMMY_HASH = _TEST_HASHER.hash("not a real password, only spends time")


class SharedBytecodeCache(BytecodeCache):
    """Compiled templates shared by every app a worker builds.

    A worker builds an app for each configuration it meets (and ``make_app``
    one per call), whose Jinja environment would compile every template it
    renders again. Jinja keys a bucket by template name and file,
    and checks the source's checksum, so a changed template is compiled anew.
    All test apps configure Jinja alike (same extensions, same options).
    """

    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket) -> None:
        code = self._code.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket) -> None:
        self._code[bucket.key] = bucket.bytecode_to_string()


TEMPLATE_BYTECODE = SharedBytecodeCache()


def prepare_test_app(app):
    """What every app a test builds gets: isolated requests, shared compiled templates."""
    app.test_client_class = IsolatedClient
    app.test_cli_runner_class = IsolatedCliRunner
    app.jinja_env.bytecode_cache = TEMPLATE_BYTECODE
    return app


# --- database -------------------------------------------------------------


def _migrate(url: str, instance: Path) -> None:
    """Build the schema the only way production does: through migrations/."""
    from flask_migrate import upgrade

    def run() -> None:
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "x", "INSTANCE_PATH": str(instance)})
        with app.app_context():
            upgrade()
            _db.engine.dispose()

    contextvars.Context().run(run)  # the migration's write intent must not leak into the tests


def _postgres_admin(url: str, statements: list[str]) -> None:
    """Run statements (CREATE/DROP DATABASE) on the server's maintenance database."""
    admin = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as conn:
        for statement in statements:
            conn.execute(text(statement))
    admin.dispose()


def worker_postgres_url(url: str) -> str:
    """This worker's own database beside the one PORTAL_TEST_DATABASE_URL names
    (``portal_ci`` becomes ``portal_ci_gw0``), created empty; one process uses
    the named database itself, wiped."""
    url = normalise_database_url(url)
    if WORKER == "main":
        engine = create_engine(url, poolclass=NullPool)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
        return url
    parsed = make_url(url)
    name = f"{parsed.database}_{WORKER}"
    _postgres_admin(url, [f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"'])
    return parsed.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def database_template(tmp_path_factory) -> Iterator[dict]:
    instance = tmp_path_factory.mktemp("instance")
    if POSTGRES_URL:
        url = worker_postgres_url(POSTGRES_URL)
        _migrate(url, instance)
        cleaner = PostgresCleaner(url)
        yield {"kind": "postgresql", "url": url, "instance": instance, "cleaner": cleaner}
        cleaner.dispose()
        if WORKER != "main":  # the worker's own database goes with it
            _postgres_admin(url, [f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'])
        return
    template = instance / "template.db"
    _migrate(f"sqlite:///{template}", instance)
    yield {"kind": "sqlite", "path": template, "instance": instance}


class PostgresCleaner:
    """Empties the worker's PostgreSQL database after a test, as a fresh one.

    Only the tables that hold rows are emptied (most tests write to a few of
    them), children before parents, and only the sequences a test used
    start again at 1. What a test left behind is found by asking the
    database, not by trusting the test, so rows written by another process
    (a gunicorn, a worker) go too. If the dependency order cannot hold
    (a foreign-key cycle), every table is truncated.
    """

    def __init__(self, url: str) -> None:
        self.engine = create_engine(url, poolclass=NullPool)
        with self.engine.connect() as conn:
            names = set(
                conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'")).scalars()
            )
        ordered = [table.name for table in reversed(_db.metadata.sorted_tables) if table.name in names]
        self.tables = ordered + sorted(names - set(ordered))
        self._find_rows = text(" UNION ALL ".join(f"SELECT {n} WHERE EXISTS (SELECT 1 FROM \"{t}\")" for n, t in enumerate(self.tables)))

    def empty(self) -> None:
        with self.engine.begin() as conn:
            conn.execute(text("SET LOCAL synchronous_commit = off"))  # a test database: no need to wait for the disk
            filled = [self.tables[n] for n in conn.execute(self._find_rows).scalars()]
            try:
                with conn.begin_nested():
                    for table in filled:
                        conn.execute(text(f'DELETE FROM "{table}"'))
            except IntegrityError:
                names = ", ".join(f'"{t}"' for t in self.tables)
                conn.execute(text(f"TRUNCATE {names} CASCADE"))
            # The next value of every sequence a test used is 1 again, as in a new database.
            conn.execute(
                text(
                    "SELECT setval(format('%I.%I', schemaname, sequencename)::regclass, 1, false)"
                    " FROM pg_sequences WHERE schemaname = 'public' AND last_value IS NOT NULL"
                )
            )

    def dispose(self) -> None:
        self.engine.dispose()


def reset_sqlite(path: Path, template: Path) -> None:
    """Replace the database at ``path`` (and its WAL) with a copy of ``template``;
    nothing may have it open."""
    for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        leftover.unlink(missing_ok=True)
    shutil.copyfile(template, path)


@pytest.fixture(scope="session")
def worker_dir(tmp_path_factory) -> Path:
    """This worker's own files that outlive one test: its SQLite database and instance folder."""
    return tmp_path_factory.mktemp(f"worker-{WORKER}")


@pytest.fixture
def database_url(database_template, worker_dir) -> Iterator[str]:
    """A database with the migrated schema and no rows, private to this test.

    The URL is the same for every test of a worker (so the app built for it
    can serve the next test); what is behind it is new. On SQLite the file is
    replaced by a copy of the migrated template before each test (the apps'
    connections were closed after the last one; a connection a test leaked
    keeps the old, unlinked file). On PostgreSQL the worker's database is
    emptied after each test.
    """
    if database_template["kind"] == "sqlite":
        path = worker_dir / "portal.db"
        reset_sqlite(path, database_template["path"])
        yield f"sqlite:///{path}"
        return
    yield database_template["url"]
    database_template["cleaner"].empty()


@pytest.fixture(scope="session")
def test_courses_dir(worker_dir) -> Path:
    """tests/course_content.py's course tree, written once per worker, for tests
    that read it (a test that edits content writes its own under tmp_path)."""
    from tests.course_content import write_test_courses

    return write_test_courses(worker_dir / "content")


# --- app and clients ------------------------------------------------------


@pytest.fixture
def app_config(database_url, worker_dir, smtp_url) -> dict:
    return {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SECRET_KEY": "test-secret-key",
        "INSTANCE_PATH": str(worker_dir / "instance"),
        "PORTAL_SMTP_URL": smtp_url,
        "PORTAL_BASE_URL": "http://localhost",
        "PORTAL_DEFAULT_LOCALE": "en",
        "SERVER_NAME": None,
    }


class IsolatedClient(FlaskClient):
    """Each request runs in a fresh context, as in production.

    The test itself holds an app context (for factories and assertions).
    Without this, requests would reuse it and share ``g`` and the database
    session across requests and clients (Flask-Login and Flask-WTF cache the
    user and the CSRF token in ``g``). The test's pending work is committed
    first, so the request sees it, and the test sees the request's changes
    on its next access.
    """

    def open(self, *args, **kwargs):
        _end_test_transaction()
        context = contextvars.Context()
        response = context.run(super().open, *args, **kwargs)
        if response.is_streamed:  # a streamed body is read and closed in the request's context too, as a WSGI server does
            response.response = _ReadInContext(context, response.response)
        return response


class _ReadInContext:
    """A streamed body (``stream_with_context``) whose every step runs in the request's
    context, also its close when a test leaves the body unread."""

    def __init__(self, context: contextvars.Context, body):
        self.context, self.chunks, self.closed = context, iter(body), False

    def __iter__(self):
        return self

    def __next__(self):
        return self.context.run(next, self.chunks)

    def close(self):
        if not self.closed:
            self.closed = True
            if hasattr(self.chunks, "close"):
                self.context.run(self.chunks.close)

    def __del__(self):
        self.close()


class IsolatedCliRunner(FlaskCliRunner):
    def invoke(self, *args, **kwargs):
        _end_test_transaction()
        return contextvars.Context().run(super().invoke, *args, **kwargs)


def _end_test_transaction() -> None:
    if has_app_context():
        _db.session.commit()


class AppCache:
    """Apps a worker built, by configuration, for the next test that asks for the same.

    Building an app costs about 0.1 s (routes, blueprints, the course catalog)
    and its first requests more (SQLAlchemy compiles each statement once per
    engine, Jinja loads each template once per app). Most tests configure the
    app alike, so one app serves them one after another, each on a database
    that is new (see ``database_url``). Between two tests the app is put back
    as it was built: its configuration restored (tests set values in
    ``app.config``), the rate limiter's counts cleared, its engine's
    connections closed. An app that a test left with a connection still in
    use, or that a test changed in a way that cannot be undone (a route
    added), is dropped and the next test gets a new one.
    """

    SIZE = 4

    def __init__(self) -> None:
        self._apps: dict[str, tuple] = {}

    @staticmethod
    def key(config: dict) -> str:
        return repr(sorted(config.items()))

    def take(self, config: dict):
        key = self.key(config)
        entry = self._apps.pop(key, None)
        if entry is None:
            app = prepare_test_app(create_app(config))
            entry = (app, dict(app.config), len(list(app.url_map.iter_rules())))
        return key, entry

    def give_back(self, key: str, entry: tuple) -> None:
        app, config, rules = entry
        with app.app_context():
            in_use = sum(engine.pool.checkedout() for engine in _db.engines.values())
            for engine in _db.engines.values():
                engine.dispose()
        if in_use or len(list(app.url_map.iter_rules())) != rules:
            return
        app.config.clear()
        app.config.update(config)
        self._apps[key] = entry
        while len(self._apps) > self.SIZE:
            self._apps.pop(next(iter(self._apps)))


_app_cache = AppCache()


@pytest.fixture
def app(app_config):
    key, entry = _app_cache.take(app_config)
    app = entry[0]
    # The limiter is process-wide (flask-limiter keeps one storage); each test counts from zero.
    limiter.reset()
    # A worker function called directly in an earlier test may have left write
    # intent on; the test's own reads must not hold SQLite's write lock.
    write_intent.set(False)
    with app.app_context():
        # Each test has a new database: the brand an earlier test saw is not this one's.
        forget_cached_brand()
        yield app
        _db.session.remove()
    _app_cache.give_back(key, entry)


@pytest.fixture
def make_app(app_config):
    """Another app on the same test database, with config overrides; its
    connections are closed afterwards."""
    made = []

    def _make(**overrides):
        other = prepare_test_app(create_app({**app_config, **overrides}))
        made.append(other)
        return other

    yield _make
    for other in made:
        with other.app_context():
            _db.engine.dispose()


@pytest.fixture
def db(app):
    return _db


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def csrf_token(client, path: str = "/login") -> str:
    html = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'name="csrf_token" value="([^"]+)"', html
    )
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def login(client, user, password: str = PASSWORD):
    token = csrf_token(client, "/login")
    return client.post("/login", data={"email": user.email, "password": password, "csrf_token": token})


@pytest.fixture
def login_as(app, make_staff):
    """A test client signed in with the given role (a new user each call)."""

    def _login_as(role: str, **kwargs):
        user = make_staff(role=role, **kwargs)
        client = app.test_client()
        response = login(client, user)
        assert response.status_code == 303, response.get_data(as_text=True)
        client.user = user
        client.csrf = csrf_token(client, "/staff/profile")
        return client

    return _login_as


# --- factories ------------------------------------------------------------

_sequence = itertools.count(1)


@pytest.fixture
def make_staff(db):
    def _make(role: str = Role.ADMIN, email: str | None = None, password: str = PASSWORD, **kwargs):
        n = next(_sequence)
        user = staff_services.create_user(
            email=email or f"{role}{n}@staff.example",
            name=kwargs.pop("name", f"{role.title()} {n}"),
            role=role,
            password=password,
            language=kwargs.pop("language", None),
        )
        for key, value in kwargs.items():
            setattr(user, key, value)
        db.session.commit()
        return user

    return _make


@pytest.fixture
def make_account(db):
    def _make(**kwargs) -> Account:
        n = next(_sequence)
        services = kwargs.pop("service_types", ["sip_trunk"])
        account = Account(
            external_id=kwargs.pop("external_id", f"ACC-{n}"),
            name=kwargs.pop("name", f"Account {n} GmbH"),
            region=kwargs.pop("region", "Nord"),
            contract_renewal_on=kwargs.pop("contract_renewal_on", date.today() + timedelta(days=200)),
            **kwargs,
        )
        account.service_types = services
        db.session.add(account)
        db.session.commit()
        return account

    return _make


@pytest.fixture
def make_contact(db, make_account):
    def _make(account: Account | None = None, **kwargs) -> Contact:
        n = next(_sequence)
        contact = Contact(
            account=account or make_account(),
            email=kwargs.pop("email", f"person{n}@customer.example"),
            name=kwargs.pop("name", f"Person {n}"),
            language=kwargs.pop("language", "de"),
            external_id=kwargs.pop("external_id", f"C-{n}"),
            **kwargs,
        )
        db.session.add(contact)
        db.session.commit()
        return contact

    return _make


@pytest.fixture
def make_ticket(db, make_contact):
    def _make(contact: Contact | None = None, **kwargs) -> Ticket:
        n = next(_sequence)
        contact = contact or make_contact()
        opened_at = kwargs.pop("opened_at", utcnow() - timedelta(days=2))
        ticket = Ticket(
            external_id=kwargs.pop("external_id", f"T-{n}"),
            account_id=contact.account_id,
            contact=contact,
            subject=kwargs.pop("subject", f"Ticket {n}"),
            category=kwargs.pop("category", "technical"),
            opened_at=opened_at,
            first_response_at=kwargs.pop("first_response_at", opened_at + timedelta(hours=1)),
            closed_at=kwargs.pop("closed_at", opened_at + timedelta(hours=20)),
            agent=kwargs.pop("agent", "Agent Smith"),
            **kwargs,
        )
        db.session.add(ticket)
        db.session.commit()
        return ticket

    return _make


# --- a real SMTP server ---------------------------------------------------


@dataclass
class SmtpRecorder:
    """What the test SMTP server received, parsed."""

    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        """Addresses starting with reject@/busy@ get a permanent/temporary refusal."""
        if address.startswith("reject"):
            return "550 5.1.1 No such user"
        if address.startswith("busy"):
            return "451 4.3.0 Mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        with self.lock:
            self.envelopes.append(envelope)
            self.messages.append(message_from_bytes(envelope.original_content or envelope.content, policy=policy.default))
        return "250 OK"


@pytest.fixture(scope="session")
def _smtp_controller():
    """This worker's SMTP server; each test that asks for one gets its own recorder."""
    from aiosmtpd.controller import Controller

    controller = Controller(SmtpRecorder(), hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller
    controller.stop()


@pytest.fixture
def smtp_server(_smtp_controller) -> Iterator[tuple[SmtpRecorder, int]]:
    """A real SMTP server on loopback and what it receives during this test
    (each connection is served by the recorder current when it opens)."""
    recorder = SmtpRecorder()
    _smtp_controller.handler = recorder
    try:
        yield recorder, _smtp_controller.port
    finally:
        _smtp_controller.handler = SmtpRecorder()  # late mail of this test is seen by no other


@pytest.fixture
def smtp_url(request) -> str:
    """Only tests that ask for ``smtp_server`` get a listening server."""
    if "smtp_server" in request.fixturenames:
        _recorder, port = request.getfixturevalue("smtp_server")
        return f"smtp://127.0.0.1:{port}"
    return "smtp://127.0.0.1:9"  # discard port: nothing listens


# --- a live server for the browser tests -----------------------------------


@pytest.fixture
def live_server(app):
    """The app served over HTTP on a free loopback port, in a thread."""
    from werkzeug.serving import make_server

    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)  # shutdown() waits up to one poll
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


def utc(*args) -> datetime:
    return datetime(*args)


@pytest.fixture
def make_message(app, db):
    """A queued outbox message (or in the given status)."""
    from portal.mail import services as mail

    def _make(to: str = "kunde@customer.example", status: str | None = None, **kwargs):
        message = mail.enqueue(
            to=to,
            subject=kwargs.pop("subject", "Wie zufrieden waren Sie?"),
            text=kwargs.pop("text", "Hallo,\nbitte bewerten Sie uns."),
            html=kwargs.pop("html", "<p>Hallo, <strong>bitte</strong> bewerten Sie uns.</p>"),
            kind=kwargs.pop("kind", "test"),
            locale=kwargs.pop("locale", "de"),
            **kwargs,
        )
        if status:
            message.status = status
        db.session.commit()
        return message

    return _make


# --- surveys ----------------------------------------------------------------------


@pytest.fixture
def make_survey(db):
    """One of the default surveys (portal/surveys/defaults.py), active, with overrides."""
    from portal.surveys import defaults

    builders = {
        "post_ticket": defaults.post_ticket_survey,
        "post_installation": defaults.post_installation_survey,
        "nps": defaults.nps_survey,
        "custom": defaults.custom_survey,
        "recovery": defaults.recovery_survey,
    }

    def _make(kind: str = "post_ticket", **overrides):
        survey = builders[kind]()
        for key, value in overrides.items():
            setattr(survey, key, value)
        db.session.add(survey)
        db.session.commit()
        return survey

    return _make


@pytest.fixture
def make_invitation(db, make_survey, make_contact):
    """An invitation whose email is queued; returns (invitation, raw token)."""
    from portal.surveys import services as surveys

    def _make(survey=None, contact=None, **kwargs):
        survey = survey or make_survey(kwargs.pop("kind", "nps"))
        contact = contact or make_contact()
        created = surveys.invite(survey, contact, **kwargs)
        db.session.commit()
        return created.invitation, created.token

    return _make


# --- integrations -----------------------------------------------------------------


@pytest.fixture
def integration(db):
    """An integration with its one-time credentials (signing secret, API token)."""
    from portal.integrations import services as integrations

    created = integrations.create_integration("Helpdesk")
    db.session.commit()
    return created


def post_event(client, integration, payload, *, secret: str | None = None, timestamp: int | None = None, body: bytes | None = None, key: str | None = None):
    """POST an event signed the way integrators sign it."""
    import json as _json

    from portal.integrations.services import sign

    raw = body if body is not None else _json.dumps(payload).encode()
    headers = {
        "Content-Type": "application/json",
        "Portal-Key": key or integration.integration.key_id,
        "Portal-Signature": sign(secret or integration.signing_secret, raw, timestamp),
    }
    return client.post("/api/v1/events", data=raw, headers=headers)


def ticket_closed_event(n: int | str = 1, **overrides) -> dict:
    """A realistic ticket.closed payload, the ticket closed 3 hours ago (the
    survey's delay has passed; events older than PORTAL_EVENT_MAX_AGE_DAYS
    invite nobody); overrides replace top-level parts."""
    closed = utcnow().replace(microsecond=0) - timedelta(hours=3)

    def iso(moment: datetime) -> str:
        return moment.isoformat() + "Z"

    event = {
        "id": f"evt-{n}",
        "type": "ticket.closed",
        "occurred_at": iso(closed),
        "account": {
            "external_id": "CRM-1",
            "name": "Müller Logistik GmbH",
            "region": "Nord",
            "service_types": ["sip_trunk"],
            "contract_renewal_on": "2027-06-30",
        },
        "contact": {"external_id": "CON-1", "email": "lena.vogel@mueller-logistik.example", "name": "Lena Vogel", "language": "de"},
        "ticket": {
            "external_id": f"HD-{n}",
            "subject": "Echo bei Gesprächen",
            "category": "technical",
            "opened_at": iso(closed - timedelta(days=2, hours=1, minutes=30)),
            "first_response_at": iso(closed - timedelta(days=2, minutes=50)),
            "closed_at": iso(closed),
            "agent": "Kai Brandt",
            "auto_closed": False,
        },
    }
    event.update(overrides)
    return event


# --- courses ----------------------------------------------------------------


@pytest.fixture
def make_access_link(db, make_account):
    """An access link and its raw token: ``link, token = make_access_link(account, course_slugs=[...])``."""

    def _make(account: Account | None = None, **kwargs):
        from portal.courses import services as course_services

        link, raw = course_services.create_access_link(account or make_account(), **kwargs)
        db.session.commit()
        return link, raw

    return _make


@pytest.fixture
def make_learner(db, make_access_link):
    """A learner who identified through ``link`` (a new link and account when none is given)."""

    def _make(link=None, **kwargs):
        from portal.courses.models import Learner

        link = link or make_access_link()[0]
        n = next(_sequence)
        learner = Learner(
            account_id=link.account_id,
            access_link_id=link.id,
            email=kwargs.pop("email", f"learner{n}@customer.example"),
            name=kwargs.pop("name", f"Learner {n}"),
            language=kwargs.pop("language", "en"),
            **kwargs,
        )
        db.session.add(learner)
        db.session.commit()
        return learner

    return _make


@pytest.fixture
def learner_client(app):
    """A test client remembered as ``learner`` (through ``link``, default: theirs)."""

    def _client(learner, link=None):
        from itsdangerous import URLSafeTimedSerializer

        from portal.courses.identity import LEARNER_COOKIE, LEARNER_COOKIE_PATH

        link_id = link.id if link is not None else learner.access_link_id
        value = URLSafeTimedSerializer(app.secret_key, salt="portal.courses.learner").dumps({"learner": learner.id, "link": link_id})
        client = app.test_client()
        client.set_cookie(LEARNER_COOKIE, value, path=LEARNER_COOKIE_PATH)
        client.learner = learner
        return client

    return _client
