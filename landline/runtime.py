"""One running Landline: the store, the carrier connectors and the workers, wired together."""

from __future__ import annotations

import fcntl
import logging
import ssl
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from aiohttp.abc import AbstractResolver

from landline import data_dir, metrics
from landline.api.app import LandlineApi
from landline.api.clients import parse_networks
from landline.api.context import Services
from landline.api.hashing import HashingPool
from landline.carriers.base import Connector
from landline.carriers.simulator import SimulatorConnector
from landline.carriers.smpp import config as smpp_config
from landline.carriers.smpp.connector import SmppConnector
from landline.core import passwords
from landline.core.address_policy import AddressPolicy
from landline.core.clock import Clock, SystemClock
from landline.core.media_links import MediaLinks
from landline.core.ratelimit import Limits
from landline.core.routes import RouteTable
from landline.core.spam import SpamLimits, SpamWatch
from landline.core.throttle import LoginThrottle
from landline.dispatch.dispatcher import Dispatcher
from landline.dispatch.expiry import ReceiptTimeouts
from landline.dispatch.receiving import CarrierEvents
from landline.media.backends import build_content_store
from landline.media.retention import MediaRetention
from landline.settings import Settings
from landline.store import delivery_reports, events, work
from landline.store.access import Store
from landline.store.database import sqlite_url
from landline.supervisor import WorkerProcess
from landline.webhooks.attempts import ClientLimits, WebhookClient
from landline.webhooks.engine import WebhookEngine
from landline.webhooks.secrets import SecretBox, installation_key

if TYPE_CHECKING:
    from landline.web.app import Site

log = logging.getLogger(__name__)


def database_url(settings: Settings) -> str:
    if settings.database_url:
        return settings.database_url
    data_dir.prepare(settings.data_dir)
    return sqlite_url(data_dir.private_file(settings.sqlite_path()))


class WorkersBusy(RuntimeError):
    """Another process already runs the workers on this SQLite store."""


class Runtime:
    """Owns the store and, when `workers` is set, the dispatcher and connectors."""

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock | None = None,
        workers: bool = True,
        worker_process: bool = False,
        resolver: AbstractResolver | None = None,
        webhook_tls: ssl.SSLContext | None = None,
    ) -> None:
        """`workers` runs them in this process; `worker_process` in a child of it (what
        `landline serve` does, so that the API and the workers each have a core).
        `resolver` and `webhook_tls` replace the system's DNS and certificate
        authorities for webhooks (tests use them; a server never needs to)."""
        self.settings = settings
        self.clock = clock or SystemClock()
        self.routes = RouteTable.parse(settings.routes)
        # Several writers serve concurrent API requests; a process that runs the workers
        # keeps one, so its rounds (a text's part records and their receipts, above all)
        # commit in the order they were made.
        writers = 1 if workers else settings.pg_writers
        self.store = Store(database_url(settings), self.clock, pg_writers=writers)
        self.workers = workers
        lease_ms = int(settings.lease_seconds * 1000)
        self.simulator = SimulatorConnector(
            self.store,
            self.clock,
            receipt_delay_ms=settings.sim_receipt_delay_ms,
            poll_ms=settings.poll_interval_ms,
        )
        self.connectors: dict[str, Connector] = {self.simulator.name: self.simulator}
        for name, url in settings.smpp.items():
            smpp = SmppConnector(smpp_config.parse(name, url), self.store, self.clock)
            self.connectors[smpp.name] = smpp
        self.dispatcher = Dispatcher(
            self.store,
            self.clock,
            self.routes,
            self.connectors,
            lease_ms=lease_ms,
            poll_ms=settings.poll_interval_ms,
        )
        self.carrier_events = CarrierEvents(self.store, self.clock, self.dispatcher.wake)
        self.receipt_timeouts = ReceiptTimeouts(
            self.store, self.clock, timeout_ms=int(settings.receipt_timeout_hours * 3_600_000)
        )
        self.password_pool = HashingPool(settings.login_threads, settings.login_queue)
        self.failed_logins = LoginThrottle(
            per_user=settings.login_failures_per_user,
            per_address=settings.login_failures_per_address,
            window_ms=int(settings.login_window_seconds * 1000),
            max_keys=settings.login_throttle_keys,
        )
        self.trusted_proxies = parse_networks(settings.trusted_proxies)
        self.worker_process = WorkerProcess(settings.data_dir) if worker_process else None
        self.webhook_policy = AddressPolicy.from_setting(settings.webhook_allow_nets)
        self.webhook_resolver = resolver
        secret = installation_key(settings.secret_key.get_secret_value(), settings.data_dir)
        self.secret_box = SecretBox(secret)
        self.media = build_content_store(settings)
        self.media_links = (
            MediaLinks.derived(secret, settings.public_url) if settings.public_url else None
        )
        self.media_retention = MediaRetention(
            self.store, self.clock, self.media, days=settings.media_retention_days
        )
        self.carrier_paths = add_upstream(self)
        self.webhooks = WebhookEngine(
            self.store,
            self.clock,
            WebhookClient(
                self.webhook_policy,
                limits=ClientLimits(timeout_s=settings.webhook_timeout_s),
                ssl_context=webhook_tls,
                resolver=resolver,
            ),
            self.secret_box,
            host_limit=settings.webhook_host_concurrency,
            lease_ms=lease_ms,
            poll_ms=settings.poll_interval_ms,
        )
        self.spam = SpamWatch(
            SpamLimits(
                per_minute=settings.spam_per_minute,
                per_day=settings.spam_per_day,
                same_body_contacts=settings.spam_same_body_contacts,
            )
        )
        events.count_with(metrics.messages_counted)
        self._workers_lock: IO[bytes] | None = None

    def services(self) -> Services:
        if self.worker_process is not None:
            notify = self.worker_process.wake
        else:
            notify = self.dispatcher.wake if self.workers else _nothing
        return Services(
            store=self.store,
            clock=self.clock,
            routes=self.routes,
            notify_outbound=notify,
            limits=Limits(self.settings.rate_limit) if self.settings.rate_limit else None,
            password_pool=self.password_pool,
            failed_logins=self.failed_logins,
            trusted_proxies=self.trusted_proxies,
            webhook_policy=self.webhook_policy,
            webhook_resolver=self.webhook_resolver,
            secret_box=self.secret_box,
            spam=self.spam,
            group_max_members=self.settings.group_max_members,
            media=self.media,
            media_quota_bytes=self.settings.media_quota_mb * 1024 * 1024,
            media_links=self.media_links,
            carrier_paths=self.carrier_paths,
        )

    def api(self) -> LandlineApi:
        return LandlineApi(
            self.services(),
            on_startup=self._start_api,
            on_shutdown=self.stop,
            metrics_collector=metrics.StoreCollector(self._metrics_snapshot),
        )

    def site(self) -> Site:
        """The API with the web inbox and, when the simulator is routed, its phone page."""
        from landline.web.app import Site

        return Site(
            self.api(),
            simulator=SimulatorConnector.name in self.routes.connectors(),
            timezone=self.settings.default_timezone,
        )

    def _metrics_snapshot(self) -> dict[str, object]:
        now = self.clock.now_ms()
        return self.store.read_sync(delivery_reports.metrics_snapshot, now)

    async def _start_api(self) -> None:
        # Made now, or the first login for an unknown user would take longer than one for
        # a real user, and tell them apart.
        await self.password_pool.run(passwords.dummy_hash)
        await self.start()

    async def start(self) -> None:
        if self.worker_process is not None:
            await self.worker_process.start()
        if not self.workers:
            return
        if self.store.is_sqlite:
            # SQLite is never shared between hosts, and the lock makes sure one process
            # runs its workers, so a lease left by a process that died can be taken
            # back at once.
            self._lock_sqlite_workers()
            await self.store.write(work.release_leases)
        for connector in self.connectors.values():
            await connector.start(self.carrier_events)
        await self.dispatcher.start()
        await self.receipt_timeouts.start()
        await self.webhooks.start()
        await self.media_retention.start()
        log.info("workers started (node %s)", self.store.node)

    async def stop(self) -> None:
        if self.worker_process is not None:
            await self.worker_process.stop()
        # Also when it was never started: a test may have driven it, and its HTTP client
        # must be closed.
        await self.webhooks.stop()
        if self.workers:
            await self.media_retention.stop()
            await self.receipt_timeouts.stop()
            await self.dispatcher.stop()
            for connector in self.connectors.values():
                await connector.stop()
        self.password_pool.close()
        await self.media.close()
        self.store.close()
        if self._workers_lock is not None:
            self._workers_lock.close()
            self._workers_lock = None

    def _lock_sqlite_workers(self) -> None:
        """Refuse to run a second set of workers on one SQLite file: each would take
        back the other's leases at start and hand the same texts to carriers again."""
        database = self.store.writer_engine.url.database
        if not database or database == ":memory:":
            return
        handle = data_dir.private_file(Path(database + ".workers.lock")).open("a+b")
        try:
            # Released by the kernel when the process ends, however it ends.
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise WorkersBusy(
                f"another Landline process is running workers on {database}; stop it, "
                "or start this one with --api-only"
            ) from None
        self._workers_lock = handle


def add_upstream(runtime: Runtime) -> dict[str, Any]:
    """The REST provider's connector, when one is configured, and the callback paths
    the API answers for it."""
    settings = runtime.settings
    if not settings.upstream_account_sid:
        return {}
    from landline.carriers.http_upstream.callbacks import UpstreamCallbacks
    from landline.carriers.http_upstream.connector import HttpUpstreamConnector, UpstreamConfig

    if runtime.media_links is None:
        raise ValueError("an upstream provider needs LANDLINE_PUBLIC_URL, where it calls back")
    config = UpstreamConfig(
        account_sid=settings.upstream_account_sid,
        auth_token=settings.upstream_auth_token.get_secret_value(),
        base_url=settings.upstream_base_url,
        public_url=settings.public_url,
    )
    connector = HttpUpstreamConnector(config, runtime.clock, runtime.media_links)
    runtime.connectors[connector.name] = connector
    callbacks = UpstreamCallbacks(
        config, connector.name, runtime.carrier_events, runtime.media, runtime.clock
    )
    return callbacks.paths()


def _nothing() -> None:
    return None
