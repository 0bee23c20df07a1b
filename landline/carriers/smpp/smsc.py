"""A simulated SMSC: an SMPP 3.4 server over TCP (or TLS) that behaves as a test asks.

In a test, run it in-process:

    smsc = SmscSimulator(SmscConfig(accounts={"landline": "secret"}))
    await smsc.start()                      # smsc.port is the bound port
    smsc.script(Behaviour.throttle())       # the next submit_sm is throttled
    ...
    await smsc.wait_until(lambda: len(smsc.submits()) == 2)
    await smsc.send_text("+12065550100", "+12065550123", "Hi", split="udh16")
    await smsc.stop()

or as a process: `main(["--port", "2775", "--account", "landline:secret"])`.

Each submit_sm is answered by a `Behaviour`: the first scripted one still waiting, else
the one set for its destination, else the default. A behaviour accepts (with receipts as
its `ReceiptPlan` says: late, twice, held until released, or before the submit_sm_resp),
throttles, reports a full queue, rejects for good, drops the TCP connection, or never
answers. Receipts are sent only when the submit asked for them (registered_delivery).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import functools
import itertools
import logging
import signal
import ssl
import time
from collections import deque
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from enum import Enum
from typing import Literal

from landline.carriers.smpp import pdus
from landline.carriers.smpp.pdus import BindMode, DeliverSm, Pdu, Status, SubmitSm
from landline.carriers.smpp.session import Session, SessionClosed
from landline.core import segments
from landline.core.receipts import MESSAGE_STATES, STAT_OUTCOMES, IdBase, Outcome

log = logging.getLogger(__name__)

STATE_OF_STAT = {stat: state for state, stat in MESSAGE_STATES.items()}
MAX_HELD = 100_000  # receipts and texts waiting for a receiver, per simulator


class Action(Enum):
    ACCEPT = "accept"
    THROTTLE = "throttle"  # ESME_RTHROTTLED
    QUEUE_FULL = "queue_full"  # ESME_RMSGQFUL
    REJECT = "reject"  # a permanent error (reject_status)
    DROP_LINK = "drop_link"  # close the TCP connection instead of answering
    NO_ANSWER = "no_answer"


@dataclass(frozen=True)
class ReceiptPlan:
    stat: str = "DELIVRD"
    err: str = "000"
    delay: float = 0.0  # seconds
    copies: int = 1  # 2: the same receipt twice
    before_resp: bool = False  # the receipt is written before the submit_sm_resp
    held: bool = False  # kept until `release_receipts()`
    tlvs: bool = True  # receipted_message_id and message_state beside the text


DELIVERED = ReceiptPlan()


@dataclass(frozen=True)
class Behaviour:
    action: Action = Action.ACCEPT
    resp_delay: float = 0.0  # seconds before the submit_sm_resp
    reject_status: int = Status.RINVDSTADR
    receipt: ReceiptPlan | None = DELIVERED

    @classmethod
    def accept(cls, receipt: ReceiptPlan | None = DELIVERED, resp_delay: float = 0.0) -> Behaviour:
        return cls(Action.ACCEPT, resp_delay=resp_delay, receipt=receipt)

    @classmethod
    def throttle(cls) -> Behaviour:
        return cls(Action.THROTTLE, receipt=None)

    @classmethod
    def queue_full(cls) -> Behaviour:
        return cls(Action.QUEUE_FULL, receipt=None)

    @classmethod
    def reject(cls, status: int = Status.RINVDSTADR) -> Behaviour:
        return cls(Action.REJECT, reject_status=status, receipt=None)

    @classmethod
    def drop_link(cls) -> Behaviour:
        return cls(Action.DROP_LINK, receipt=None)

    @classmethod
    def no_answer(cls) -> Behaviour:
        return cls(Action.NO_ANSWER, receipt=None)


@dataclass
class SmscConfig:
    host: str = "127.0.0.1"
    port: int = 0  # 0: any free port (see SmscSimulator.port)
    accounts: dict[str, str] = field(default_factory=lambda: {"landline": "secret"})
    system_id: str = "LLSIM"
    # How message ids are written: in submit_sm_resp HEX is "%08X", DECIMAL "%d"; in
    # receipts HEX is "%x" (no leading zeros, lower case), so a client must normalise.
    message_ids: IdBase = IdBase.HEX
    receipt_ids: IdBase | None = None  # None: as message_ids
    first_message_id: int = 0x2A00
    ssl_context: ssl.SSLContext | None = None
    record_limit: int = 100_000  # PDUs kept in `received`; 0 keeps none
    deliver_timeout: float = 10.0  # how long to wait for a deliver_sm_resp
    redeliver_delay: float = 1.0  # before offering a refused deliver_sm again
    max_deliver_attempts: int = 10
    window: int = 64


@dataclass(frozen=True)
class Received:
    """A PDU the simulator read, with who sent it."""

    system_id: str | None
    pdu: Pdu
    at: float  # time.monotonic()
    connection: int = 0  # which TCP connection it came on, numbered from 1


@dataclass(eq=False)
class Esme:
    """One bound session, and the deliver_sm PDUs on their way to it (at most the
    window's worth unanswered at once; the rest wait in `outbox`)."""

    session: Session
    system_id: str
    mode: BindMode
    outbox: deque[_Outbound] = field(default_factory=deque)
    in_flight: int = 0


@dataclass
class _Outbound:
    """A deliver_sm waiting to reach an ESME."""

    system_id: str
    body: DeliverSm
    prefer: Esme | None = None
    attempts: int = 0
    done: asyncio.Future[int] | None = None  # resolves to the deliver_sm_resp status


class SmscSimulator:
    def __init__(self, config: SmscConfig | None = None) -> None:
        self.config = config or SmscConfig()
        self.default = Behaviour()
        self.by_destination: dict[str, Behaviour] = {}
        self._script: deque[Behaviour] = deque()
        self.received: deque[Received] = deque(maxlen=self.config.record_limit or None)
        self.esmes: list[Esme] = []
        self._ids = itertools.count(self.config.first_message_id)
        self._connections = itertools.count(1)
        self._held: deque[_Outbound] = deque(maxlen=MAX_HELD)
        self._waiting: deque[_Outbound] = deque(maxlen=MAX_HELD)  # for a receiver to bind
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._timers: set[asyncio.TimerHandle] = set()
        self._changed = asyncio.Event()
        self._watchers = 0
        self.submitted = 0  # submit_sm answered ROK, however many are recorded
        self.port = 0

    # --- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._accept, self.config.host, self.config.port, ssl=self.config.ssl_context
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for esme in list(self.esmes):
            esme.session.abort()
        for timer in self._timers:
            timer.cancel()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), 5)

    async def __aenter__(self) -> SmscSimulator:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # --- what a test asks for ------------------------------------------------------------

    def script(self, *behaviours: Behaviour) -> None:
        """Behaviours for the next submit_sm PDUs, one each, before the others apply."""
        self._script.extend(behaviours)

    def submits(self) -> list[SubmitSm]:
        return [r.pdu.body for r in self.received if isinstance(r.pdu.body, SubmitSm)]

    def received_of(self, kind: type) -> list[Pdu]:
        return [r.pdu for r in self.received if isinstance(r.pdu.body, kind)]

    async def wait_until(self, condition: Callable[[], bool], timeout: float = 10.0) -> None:
        """Wait until `condition()` holds, re-checking whenever a PDU comes in or a
        session binds or ends. Raises TimeoutError after `timeout` seconds."""
        deadline = asyncio.get_running_loop().time() + timeout
        self._watchers += 1
        try:
            while not condition():
                remaining = deadline - asyncio.get_running_loop().time()
                if remaining <= 0:
                    raise TimeoutError("the SMSC simulator did not see what was awaited")
                self._changed.clear()
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), min(remaining, 0.5))
        finally:
            self._watchers -= 1

    def release_receipts(self) -> int:
        """Send every receipt held back by `ReceiptPlan(held=True)`; answer how many."""
        held, self._held = self._held, deque(maxlen=MAX_HELD)
        for outbound in held:
            self._route(outbound)
        return len(held)

    def drop_links(self) -> None:
        """Drop every bound ESME's TCP connection."""
        for esme in list(self.esmes):
            esme.session.abort()

    async def deliver(
        self, body: DeliverSm, *, system_id: str | None = None, timeout: float = 10.0
    ) -> int:
        """Send one deliver_sm to a receiving ESME (of `system_id`, or of any account)
        and answer the status of its deliver_sm_resp. Waits for one to bind."""
        outbound = _Outbound(system_id=system_id or "", body=body)
        outbound.done = asyncio.get_running_loop().create_future()
        self._route(outbound)
        return await asyncio.wait_for(outbound.done, timeout)

    async def send_text(
        self,
        source: str,
        destination: str,
        text: str,
        *,
        coding: segments.Coding | None = None,
        split: Literal["udh8", "udh16", "sar", "payload"] = "udh8",
        reference: int = 0x42,
        order: Iterable[int] | None = None,
        system_id: str | None = None,
        timeout: float = 10.0,
    ) -> list[int]:
        """A handset texts `destination`: one deliver_sm per part (a long text split by
        an 8-bit or 16-bit UDH, by SAR TLVs, or whole in message_payload), sent in
        `order` (part numbers from 1; default in order). Answers each part's status."""
        bodies = handset_parts(
            source, destination, text, coding=coding, split=split, reference=reference
        )
        sequence = list(order) if order is not None else list(range(1, len(bodies) + 1))
        statuses = []
        for seq in sequence:
            statuses.append(
                await self.deliver(bodies[seq - 1], system_id=system_id, timeout=timeout)
            )
        return statuses

    async def send_receipt(
        self,
        message_id: str,
        *,
        source: str,
        destination: str,
        stat: str = "DELIVRD",
        err: str = "000",
        tlvs: bool = True,
        system_id: str | None = None,
        timeout: float = 10.0,
    ) -> int:
        """A receipt the test writes itself (for an id the SMSC never gave, say)."""
        body = receipt_pdu(
            message_id, source=source, destination=destination, stat=stat, err=err, tlvs=tlvs
        )
        return await self.deliver(body, system_id=system_id, timeout=timeout)

    # --- sessions ------------------------------------------------------------------------

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        bound: list[Esme] = []
        connection = next(self._connections)
        session = Session(
            reader,
            writer,
            window=self.config.window,
            response_timeout=self.config.deliver_timeout,
            on_received=lambda pdu: self._record(
                bound[0].system_id if bound else None, pdu, connection
            ),
        )
        session.start()
        try:
            while True:
                pdu = await session.next_request()
                if not bound:
                    esme = self._bind(session, pdu)
                    if esme is not None:
                        bound.append(esme)
                        self._on_bound(esme)
                    continue
                self._handle(bound[0], pdu)
        except SessionClosed:
            pass
        finally:
            if bound:
                self._on_unbound(bound[0])
            await session.close()

    def _bind(self, session: Session, pdu: Pdu) -> Esme | None:
        body = pdu.body
        if not isinstance(body, pdus.Bind):
            _refuse_unbound(session, pdu)
            return None
        accounts = self.config.accounts
        status = Status.ROK
        if body.system_id not in accounts:
            status = Status.RINVSYSID
        elif accounts[body.system_id] != body.password:
            status = Status.RINVPASWD
        session.respond(pdu, pdus.BindResp(body.mode, self.config.system_id), status)
        if status != Status.ROK:
            self._spawn(session.close())
            return None
        return Esme(session, body.system_id, body.mode)

    def _on_bound(self, esme: Esme) -> None:
        self.esmes.append(esme)
        self._notify()
        if esme.mode.receives:
            waiting = [o for o in self._waiting if self._wants(o, esme)]
            for outbound in waiting:
                self._waiting.remove(outbound)
                self._route(outbound)

    def _handle(self, esme: Esme, pdu: Pdu) -> None:
        body = pdu.body
        session = esme.session
        if isinstance(body, SubmitSm):
            if not esme.mode.transmits:
                session.respond(pdu, pdus.SubmitSmResp(), Status.RINVBNDSTS)
            else:
                self._submit(esme, pdu, body)
        elif isinstance(body, pdus.Unbind):
            session.respond(pdu, pdus.UnbindResp())
            self._spawn(session.close())
        elif isinstance(body, pdus.Bind):
            session.respond(pdu, pdus.BindResp(body.mode, self.config.system_id), Status.RALYBND)
        else:
            session.respond(pdu, pdus.GenericNack(), Status.RINVCMDID)

    def _record(self, system_id: str | None, pdu: Pdu, connection: int = 0) -> None:
        if self.config.record_limit:
            self.received.append(Received(system_id, pdu, time.monotonic(), connection))
        self._notify()

    def _notify(self) -> None:
        if self._watchers:
            self._changed.set()

    # --- submit_sm -----------------------------------------------------------------------

    def _behaviour_for(self, body: SubmitSm) -> Behaviour:
        if self._script:
            return self._script.popleft()
        return self.by_destination.get(body.destination_addr, self.default)

    def _submit(self, esme: Esme, pdu: Pdu, body: SubmitSm) -> None:
        behaviour = self._behaviour_for(body)
        session = esme.session
        action = behaviour.action
        if action is Action.NO_ANSWER:
            return
        if action is Action.DROP_LINK:
            session.abort()
            return
        if action is not Action.ACCEPT:
            status = {
                Action.THROTTLE: Status.RTHROTTLED,
                Action.QUEUE_FULL: Status.RMSGQFUL,
            }.get(action, behaviour.reject_status)
            self._answer_later(session, pdu, pdus.SubmitSmResp(), status, behaviour.resp_delay)
            return
        number = next(self._ids)
        self.submitted += 1
        resp = pdus.SubmitSmResp(_format_id(number, self.config.message_ids, in_receipt=False))
        plan = behaviour.receipt if _wants_receipt(body, behaviour.receipt) else None
        if plan is None:
            self._answer_later(session, pdu, resp, Status.ROK, behaviour.resp_delay)
            return
        receipt_id = _format_id(
            number, self.config.receipt_ids or self.config.message_ids, in_receipt=True
        )
        outbound = _Outbound(
            system_id=esme.system_id,
            body=receipt_pdu(
                receipt_id,
                source=body.destination_addr,
                destination=body.source_addr,
                stat=plan.stat,
                err=plan.err,
                tlvs=plan.tlvs,
                original=body,
            ),
            prefer=esme,
        )
        if plan.before_resp:
            self._spawn(self._receipt_first(session, pdu, resp, outbound, plan, behaviour))
            return
        self._answer_later(session, pdu, resp, Status.ROK, behaviour.resp_delay)
        self._schedule_receipts(outbound, plan, behaviour.resp_delay + plan.delay)

    def _answer_later(
        self, session: Session, pdu: Pdu, body: pdus.Body, status: int, delay: float
    ) -> None:
        if delay <= 0:
            session.respond(pdu, body, status)
            return
        self._later(delay, lambda: _respond_if_open(session, pdu, body, status))

    def _schedule_receipts(self, outbound: _Outbound, plan: ReceiptPlan, delay: float) -> None:
        copies = [outbound] + [dataclasses.replace(outbound) for _ in range(plan.copies - 1)]
        if plan.held:
            self._held.extend(copies)
            return
        for copy in copies:
            if delay <= 0:
                self._route(copy)
            else:
                self._later(delay, functools.partial(self._route, copy))

    async def _receipt_first(
        self,
        session: Session,
        pdu: Pdu,
        resp: pdus.SubmitSmResp,
        outbound: _Outbound,
        plan: ReceiptPlan,
        behaviour: Behaviour,
    ) -> None:
        await asyncio.sleep(plan.delay)
        futures = []
        for _ in range(plan.copies):
            with contextlib.suppress(SessionClosed):
                futures.append(session.send_request(outbound.body))
        await asyncio.sleep(behaviour.resp_delay)
        _respond_if_open(session, pdu, resp, Status.ROK)
        await asyncio.gather(*futures, return_exceptions=True)

    # --- deliver_sm ----------------------------------------------------------------------

    def _wants(self, outbound: _Outbound, esme: Esme) -> bool:
        account = not outbound.system_id or outbound.system_id == esme.system_id
        return account and esme.mode.receives and esme.session.is_open

    def _receiver_for(self, outbound: _Outbound) -> Esme | None:
        if outbound.prefer is not None and self._wants(outbound, outbound.prefer):
            return outbound.prefer
        return next((esme for esme in self.esmes if self._wants(outbound, esme)), None)

    def _route(self, outbound: _Outbound) -> None:
        """Put a deliver_sm on its way to an ESME that can take it, or keep it until one
        binds."""
        esme = self._receiver_for(outbound)
        if esme is None:
            self._waiting.append(outbound)
            return
        esme.outbox.append(outbound)
        self._pump(esme)

    def _pump(self, esme: Esme) -> None:
        # Callbacks rather than a task per deliver_sm: receipts are the simulator's
        # busiest work when a benchmark asks for them.
        while esme.outbox and esme.in_flight < self.config.window and esme.session.is_open:
            outbound = esme.outbox.popleft()
            outbound.attempts += 1
            esme.in_flight += 1
            future = esme.session.send_request(outbound.body)
            future.add_done_callback(functools.partial(self._answered, esme, outbound))

    def _answered(self, esme: Esme, outbound: _Outbound, future: asyncio.Future[Pdu]) -> None:
        esme.in_flight -= 1
        status: int | None = None
        if not future.cancelled() and future.exception() is None:
            status = future.result().status
        done = outbound.done
        if status == Status.ROK or outbound.attempts >= self.config.max_deliver_attempts:
            if done is not None and not done.done():
                done.set_result(Status.RSYSERR if status is None else status)
        else:
            if done is not None and status is not None and not done.done():
                # The test that sent it hears the refusal; the SMSC still tries again.
                done.set_result(status)
            self._later(self.config.redeliver_delay, functools.partial(self._route, outbound))
        self._pump(esme)

    def _on_unbound(self, esme: Esme) -> None:
        if esme in self.esmes:
            self.esmes.remove(esme)
        undelivered, esme.outbox = esme.outbox, deque()
        for outbound in undelivered:
            outbound.prefer = None
            self._route(outbound)
        self._notify()

    def _later(self, delay: float, action: Callable[[], None]) -> None:
        def fire() -> None:
            self._timers.discard(timer)
            action()

        timer = asyncio.get_running_loop().call_later(delay, fire)
        self._timers.add(timer)

    def _spawn(self, coroutine: Coroutine[object, object, None]) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


# --- PDUs the simulator writes -------------------------------------------------------------


def _wants_receipt(body: SubmitSm, plan: ReceiptPlan | None) -> bool:
    if plan is None:
        return False
    asked = body.registered_delivery & 0x03
    failed = STAT_OUTCOMES.get(plan.stat) is Outcome.FAILED
    return asked == 1 or (asked == 2 and failed)


def _format_id(number: int, base: IdBase, *, in_receipt: bool) -> str:
    if base is IdBase.DECIMAL:
        return str(number)
    return f"{number:x}" if in_receipt else f"{number:08X}"


def receipt_pdu(
    message_id: str,
    *,
    source: str,
    destination: str,
    stat: str = "DELIVRD",
    err: str = "000",
    tlvs: bool = True,
    original: SubmitSm | None = None,
) -> DeliverSm:
    """A delivery receipt in the appendix B form, from the handset (`source`) to the
    ESME's number (`destination`)."""
    now = time.strftime("%y%m%d%H%M", time.gmtime())
    delivered = STAT_OUTCOMES.get(stat) is Outcome.DELIVERED
    snippet = _snippet(original) if original is not None else ""
    text = (
        f"id:{message_id} sub:001 dlvrd:{'001' if delivered else '000'} "
        f"submit date:{now} done date:{now} stat:{stat} err:{err} text:{snippet}"
    )
    return DeliverSm(
        source_addr=source,
        destination_addr=destination,
        esm_class=0x04,
        short_message=text.encode("ascii", "replace")[: pdus.MAX_SHORT_MESSAGE],
        receipted_message_id=message_id if tlvs else None,
        message_state=STATE_OF_STAT.get(stat, 7) if tlvs else None,
    )


def _snippet(original: SubmitSm) -> str:
    try:
        text = segments.read_part(original.content, original.data_coding, original.esm_class).text
    except segments.UndecodableMessage:
        return ""
    return "".join(char if " " <= char <= "~" else "?" for char in text[:20])


def handset_parts(
    source: str,
    destination: str,
    text: str,
    *,
    coding: segments.Coding | None = None,
    split: Literal["udh8", "udh16", "sar", "payload"] = "udh8",
    reference: int = 0x42,
) -> list[DeliverSm]:
    """The deliver_sm PDUs that carry a handset's text to the ESME."""
    coding = coding if coding is not None else segments.choose_coding(text)
    base = DeliverSm(source_addr=source, destination_addr=destination, data_coding=int(coding))
    if split == "payload":
        return [dataclasses.replace(base, message_payload=segments.encode_text(text, coding))]
    if split == "sar":
        parts = segments.split(text, coding)
        return [
            dataclasses.replace(
                base,
                short_message=segments.encode_text(part, coding),
                sar_msg_ref_num=reference & 0xFFFF,
                sar_total_segments=len(parts),
                sar_segment_seqnum=seq,
            )
            if len(parts) > 1
            else dataclasses.replace(base, short_message=segments.encode_text(part, coding))
            for seq, part in enumerate(parts, start=1)
        ]
    encoded = segments.encode_parts(text, reference, coding, wide=split == "udh16")
    return [
        dataclasses.replace(base, short_message=part.short_message, esm_class=part.esm_class)
        for part in encoded
    ]


def _respond_if_open(session: Session, pdu: Pdu, body: pdus.Body, status: int) -> None:
    if session.is_open:
        session.respond(pdu, body, status)


def _refuse_unbound(session: Session, pdu: Pdu) -> None:
    body = pdu.body
    if isinstance(body, SubmitSm):
        session.respond(pdu, pdus.SubmitSmResp(), Status.RINVBNDSTS)
    elif isinstance(body, pdus.Unbind):
        session.respond(pdu, pdus.UnbindResp(), Status.RINVBNDSTS)
    else:
        session.respond(pdu, pdus.GenericNack(), Status.RINVBNDSTS)


# --- As a process ------------------------------------------------------------------------


def _account(value: str) -> tuple[str, str]:
    system_id, sep, password = value.partition(":")
    if not sep or not system_id:
        raise argparse.ArgumentTypeError("an account is SYSTEM_ID:PASSWORD")
    return system_id, password


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="landline sim smsc", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=2775)
    parser.add_argument(
        "--account", type=_account, action="append", help="SYSTEM_ID:PASSWORD (repeatable)"
    )
    parser.add_argument("--receipt-delay", type=float, default=0.0, help="seconds")
    parser.add_argument("--receipt-stat", default="DELIVRD")
    parser.add_argument("--message-ids", choices=["hex", "decimal"], default="hex")
    parser.add_argument("--receipt-ids", choices=["hex", "decimal"], default=None)
    parser.add_argument("--tls-cert", help="PEM certificate chain: serve SMPP over TLS")
    parser.add_argument("--tls-key", help="PEM private key for --tls-cert")
    parser.add_argument("--record-limit", type=int, default=0, help="PDUs kept in memory")
    return parser.parse_args(argv)


def config_from_args(args: argparse.Namespace) -> SmscConfig:
    context = None
    if args.tls_cert:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.tls_cert, args.tls_key)
    return SmscConfig(
        host=args.host,
        port=args.port,
        accounts=dict(args.account or [("landline", "secret")]),
        message_ids=IdBase(args.message_ids),
        receipt_ids=IdBase(args.receipt_ids) if args.receipt_ids else None,
        ssl_context=context,
        record_limit=args.record_limit,
    )


async def serve(config: SmscConfig, default: Behaviour | None = None) -> None:
    """Run a simulator until SIGINT or SIGTERM."""
    smsc = SmscSimulator(config)
    if default is not None:
        smsc.default = default
    await smsc.start()
    print(f"SMSC simulator listening on {config.host}:{smsc.port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        await smsc.stop()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    plan = ReceiptPlan(stat=args.receipt_stat, delay=args.receipt_delay)
    asyncio.run(serve(config_from_args(args), Behaviour.accept(receipt=plan)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
