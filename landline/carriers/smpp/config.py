"""One SMPP connection's settings, read from a URL in the way DATABASE_URL works:

    LANDLINE_SMPP_MAIN=smpp://system_id:password@host:port?bind=trx&window=10&mps=0

names the connection `smpp:main` (route to it with `LANDLINE_ROUTES=+1=smpp:main`).
`smpps://` connects over TLS. Every query parameter is listed in `PARAMETERS`, with its
meaning; an unknown one is refused, so a typo is found at start rather than in traffic.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote, urlsplit

from landline.carriers.smpp.pdus import BindMode
from landline.core.receipts import IdBase, IdFormat

ENV_PREFIX = "LANDLINE_SMPP_"
DEFAULT_PORT = 2775
MAX_BINDS = 16
MAX_WINDOW = 1024

PARAMETERS = {
    "bind": "trx (one transceiver per bind, default) or tx+rx (a transmitter and a "
    "receiver per bind)",
    "binds": "sessions opened for this connection, for throughput (1 to 16, default 1)",
    "window": "submit_sm per bind sent and not yet answered (1 to 1024, default 10)",
    "mps": "submit_sm per second per bind (0: no limit, default)",
    "system_type": "the bind's system_type (default empty)",
    "source_ton": "TON of the source address (default 1, international)",
    "source_npi": "NPI of the source address (default 1, E.164)",
    "dest_ton": "TON of the destination address (default 1)",
    "dest_npi": "NPI of the destination address (default 1)",
    "ids": "how submit_sm_resp writes message ids: text (default), hex or decimal",
    "receipt_ids": "how receipts write them: text (default), hex or decimal",
    "timeout": "seconds to wait for a response (default 10)",
    "enquire": "seconds of silence before enquire_link (default 30)",
    "reconnect": "seconds before the first reconnect; doubles to 60 (default 1)",
    "throttle_pause": "seconds a bind pauses after ESME_RTHROTTLED or ESME_RMSGQFUL (default 1)",
    "reassembly": "seconds to wait for the missing parts of an inbound text (default 300)",
    "tls_verify": "smpps only: 0 to accept any certificate (testing only; default 1)",
    "tls_ca": "smpps only: a PEM file of the authorities to trust (default: the system's)",
}


class BadSmppUrl(ValueError):
    pass


@dataclass(frozen=True)
class SmppConfig:
    name: str  # the connector's name: smpp:<name>
    host: str
    port: int
    system_id: str
    password: str
    tls: bool = False
    tls_verify: bool = True
    tls_ca: str = ""
    modes: tuple[BindMode, ...] = (BindMode.TRANSCEIVER,)
    binds: int = 1
    window: int = 10
    mps: float = 0.0
    system_type: str = ""
    source_ton: int = 1
    source_npi: int = 1
    dest_ton: int = 1
    dest_npi: int = 1
    ids: IdFormat = field(default_factory=IdFormat)
    timeout: float = 10.0
    enquire: float = 30.0
    reconnect: float = 1.0
    throttle_pause: float = 1.0
    reassembly: float = 300.0

    def __repr__(self) -> str:  # never show the password
        return f"SmppConfig(name={self.name!r}, host={self.host!r}, port={self.port})"

    def ssl_context(self) -> ssl.SSLContext | None:
        if not self.tls:
            return None
        context = ssl.create_default_context(cafile=self.tls_ca or None)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        if not self.tls_verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context


def parse(name: str, url: str) -> SmppConfig:
    """The connection `smpp:<name>` from its URL; BadSmppUrl says what is wrong (never
    quoting the password)."""
    label = f"{ENV_PREFIX}{name.upper()}"
    try:
        parts = urlsplit(url.strip())
        port = parts.port or DEFAULT_PORT
    except ValueError as exc:
        raise BadSmppUrl(f"{label}: not a URL ({exc})") from None
    if parts.scheme not in ("smpp", "smpps"):
        raise BadSmppUrl(f"{label}: the scheme must be smpp:// or smpps://")
    if not parts.hostname:
        raise BadSmppUrl(f"{label}: the URL names no host")
    system_id, password = unquote(parts.username or ""), unquote(parts.password or "")
    if not system_id or len(system_id) > 15:
        raise BadSmppUrl(f"{label}: system_id must be 1 to 15 characters")
    if len(password) > 8:
        raise BadSmppUrl(f"{label}: the password must be at most 8 characters (SMPP 3.4)")
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    unknown = sorted(set(query) - set(PARAMETERS))
    if unknown:
        raise BadSmppUrl(f"{label}: unknown parameter {', '.join(unknown)}")
    try:
        return SmppConfig(
            name=f"smpp:{name.lower()}",
            host=parts.hostname,
            port=port,
            system_id=system_id,
            password=password,
            tls=parts.scheme == "smpps",
            tls_verify=_flag(query.get("tls_verify", "1")),
            tls_ca=query.get("tls_ca", ""),
            modes=_modes(query.get("bind", "trx")),
            binds=_int(query, "binds", 1, 1, MAX_BINDS),
            window=_int(query, "window", 10, 1, MAX_WINDOW),
            mps=_number(query, "mps", 0.0, 0.0, 1_000_000.0),
            system_type=_text(query.get("system_type", ""), 12, "system_type"),
            source_ton=_int(query, "source_ton", 1, 0, 6),
            source_npi=_int(query, "source_npi", 1, 0, 18),
            dest_ton=_int(query, "dest_ton", 1, 0, 6),
            dest_npi=_int(query, "dest_npi", 1, 0, 18),
            ids=IdFormat(
                IdBase(query.get("ids", "text")), IdBase(query.get("receipt_ids", "text"))
            ),
            timeout=_number(query, "timeout", 10.0, 0.05, 300.0),
            enquire=_number(query, "enquire", 30.0, 0.1, 3600.0),
            reconnect=_number(query, "reconnect", 1.0, 0.01, 60.0),
            throttle_pause=_number(query, "throttle_pause", 1.0, 0.0, 60.0),
            reassembly=_number(query, "reassembly", 300.0, 0.1, 86_400.0),
        )
    except ValueError as exc:
        raise BadSmppUrl(f"{label}: {exc}") from None


def from_environ(environ: Mapping[str, str]) -> dict[str, str]:
    """Every LANDLINE_SMPP_<NAME> variable, as {name: url}."""
    return {
        key[len(ENV_PREFIX) :].lower(): value
        for key, value in environ.items()
        if key.startswith(ENV_PREFIX) and len(key) > len(ENV_PREFIX)
    }


def _modes(value: str) -> tuple[BindMode, ...]:
    # A "+" left unescaped in a query string reads as a space.
    value = value.strip().lower().replace(" ", "+")
    if value in ("trx", "transceiver"):
        return (BindMode.TRANSCEIVER,)
    if value in ("tx+rx", "tx,rx", "pair"):
        return (BindMode.TRANSMITTER, BindMode.RECEIVER)
    if value in ("tx", "transmitter"):
        return (BindMode.TRANSMITTER,)
    raise ValueError("bind must be trx or tx+rx (or tx, sending only)")


def _int(query: Mapping[str, str], key: str, default: int, low: int, high: int) -> int:
    if key not in query:
        return default
    try:
        value = int(query[key])
    except ValueError:
        raise ValueError(f"{key} must be a whole number") from None
    if not low <= value <= high:
        raise ValueError(f"{key} must be {low} to {high}")
    return value


def _number(query: Mapping[str, str], key: str, default: float, low: float, high: float) -> float:
    if key not in query:
        return default
    try:
        value = float(query[key])
    except ValueError:
        raise ValueError(f"{key} must be a number") from None
    if not low <= value <= high:
        raise ValueError(f"{key} must be {low:g} to {high:g}")
    return value


def _flag(value: str) -> bool:
    if value not in ("0", "1"):
        raise ValueError("tls_verify must be 0 or 1")
    return value == "1"


def _text(value: str, limit: int, key: str) -> str:
    if len(value) > limit or not value.isascii():
        raise ValueError(f"{key} must be at most {limit} ASCII characters")
    return value
