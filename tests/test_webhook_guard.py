"""The URL guard: webhooks reach only public addresses unless the operator allows more."""

from __future__ import annotations

import asyncio
import socket
from ipaddress import IPv4Address, ip_address

import pytest
from aiohttp.abc import AbstractResolver, ResolveResult
from hypothesis import example, given
from hypothesis import strategies as st
from pydantic import ValidationError

from landline.core.address_policy import AddressPolicy, literal_address, parse_nets
from landline.settings import Settings
from landline.webhooks.guard import (
    AddressRefused,
    GuardedResolver,
    UrlRefused,
    check_url,
    guarded_socket_factory,
)

STRICT = AddressPolicy()


class FixedResolver(AbstractResolver):
    """DNS as the test says: each name answers the addresses given for it."""

    def __init__(self, answers: dict[str, list[str]], delay_s: float = 0) -> None:
        self.answers = answers
        self.delay_s = delay_s
        self.asked: list[str] = []

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.asked.append(host)
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if host not in self.answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [_answer(host, a, port) for a in self.answers[host]]

    async def close(self) -> None:
        pass


def _answer(host: str, address: str, port: int) -> ResolveResult:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    return ResolveResult(hostname=host, host=address, port=port, family=family, proto=0, flags=0)


def refusal(url: str, policy: AddressPolicy = STRICT, **dns: list[str]) -> str | None:
    resolver = FixedResolver({name.replace("_", "."): a for name, a in dns.items()})
    try:
        asyncio.run(check_url(url, policy, resolver=resolver))
    except UrlRefused as exc:
        return exc.reason
    return None


# -- the form of the URL


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("ftp://example.com/hook", "only http and https"),
        ("file:///etc/passwd", "only http and https"),
        ("javascript:alert(1)", "only http and https"),
        ("example.com/hook", "only http and https"),
        ("", "only http and https"),
        ("http:///hook", "no host"),
        ("http://example.com:0/hook", "port 0"),
        ("http://exa mple.com/hook", "not a valid host name"),
        ("http://[::1/hook", "not valid"),
        ("http://127.0.0.1\\@example.com/", "not valid"),
        ("https://example.com/" + "a" * 2048, "longer than 2048"),
    ],
)
def test_urls_of_the_wrong_form_are_refused_with_the_reason(url: str, why: str) -> None:
    reason = refusal(url, example_com=["93.184.216.34"])
    assert reason is not None and why in reason


# -- hosts that are addresses


@pytest.mark.parametrize(
    ("host", "why"),
    [
        ("127.0.0.1", "loopback"),
        ("127.255.0.9", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("172.31.255.255", "private"),
        ("192.168.1.1", "private"),
        ("169.254.1.1", "link-local"),
        ("100.64.0.1", "carrier-grade NAT"),
        ("169.254.169.254", "metadata"),
        ("100.100.100.200", "metadata"),
        ("0.0.0.0", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("255.255.255.255", "broadcast"),
        ("192.0.2.10", "documentation"),
        ("[::1]", "loopback"),
        ("[::]", "unspecified"),
        ("[fe80::1]", "link-local"),
        ("[fe80::1%25eth0]", "link-local"),
        ("[fc00::1]", "private"),
        ("[fd12:3456::1]", "private"),
        ("[fd00:ec2::254]", "metadata"),
        ("[ff02::1]", "multicast"),
        ("[2001:db8::1]", "documentation"),
        ("[4000::1]", "reserved"),
        # IPv6 forms that carry an IPv4 address
        ("[::ffff:127.0.0.1]", "loopback"),
        ("[::ffff:7f00:1]", "loopback"),
        ("[::ffff:10.0.0.1]", "private"),
        ("[::ffff:169.254.169.254]", "metadata"),
        ("[::127.0.0.1]", "loopback"),
        ("[::8.8.8.8]", "IPv4-compatible"),
        ("[64:ff9b::127.0.0.1]", "loopback"),
        ("[64:ff9b::a9fe:a9fe]", "metadata"),
        ("[64:ff9b:1::1]", "NAT64"),
        ("[2002:7f00:1::1]", "loopback"),
        ("[2002:c0a8:101::1]", "private"),
        ("[2001::1]", "Teredo"),
        # IPv4 spelled the ways inet_aton reads
        ("2130706433", "loopback"),
        ("0177.0.0.1", "loopback"),
        ("0x7f.1", "loopback"),
        ("0x7F000001", "loopback"),
        ("127.1", "loopback"),
        ("017700000001", "loopback"),
        ("0", "unspecified"),
        ("0xa9.0xfe.0xa9.0xfe", "metadata"),
        ("10.1", "private"),
    ],
)
def test_hosts_that_are_internal_addresses_are_refused(host: str, why: str) -> None:
    reason = refusal(f"http://{host}:8080/hook")
    assert reason is not None, host
    assert why in reason, reason


@pytest.mark.parametrize(
    "host",
    [
        "8.8.8.8",
        "93.184.216.34",
        "[2606:4700:4700::1111]",
        "[::ffff:8.8.8.8]",
        "[64:ff9b::8.8.8.8]",
        "[2002:808:808::1]",
        "134744072",  # 8.8.8.8 in decimal: odd, but public
    ],
)
def test_hosts_that_are_public_addresses_pass(host: str) -> None:
    assert refusal(f"https://{host}/hook") is None


def test_the_reason_names_the_real_address_behind_an_odd_spelling() -> None:
    reason = refusal("http://0x7f.1/")
    assert reason == "the host 0x7f.1 is 127.0.0.1, a loopback address"
    reason = refusal("http://[::ffff:10.0.0.1]/")
    assert reason == (
        "the host ::ffff:a00:1 is 10.0.0.1, a private address (RFC 1918),"
        " as the IPv4-mapped IPv6 address ::ffff:a00:1"
    )


_INET_ATON_PART = st.from_regex(r"\A(0[xX][0-9a-fA-F]{0,10}|0[0-9]{0,13}|[1-9][0-9]{0,11})\Z")
_INET_ATON_TEXT = st.one_of(
    st.text(alphabet="0123456789abcdefxX.", min_size=1, max_size=20),
    st.lists(_INET_ATON_PART, min_size=1, max_size=5).map(".".join),
)


@given(_INET_ATON_TEXT)
@example("0x")
@example("1.")
@example("08")
@example("0x100000000")
@example("1.0x1000000")
@example("1.2.65536")
@example("1.2.3.256")
@example("00000000000000000000000000000000000000000000000001")
def test_odd_ipv4_spellings_are_read_as_the_c_library_reads_them(text: str) -> None:
    try:
        expected: IPv4Address | None = IPv4Address(socket.inet_aton(text))
    except OSError:
        expected = None
    assert literal_address(text) == expected


# -- hosts that are names


def test_a_name_is_judged_by_every_address_it_resolves_to() -> None:
    assert refusal("https://hooks.example.com/in", hooks_example_com=["93.184.216.34"]) is None
    reason = refusal(
        "https://hooks.example.com/in", hooks_example_com=["93.184.216.34", "10.0.0.7"]
    )
    assert reason == "the host hooks.example.com resolves to 10.0.0.7, a private address (RFC 1918)"
    reason = refusal("https://six.example.com/in", six_example_com=["::1"])
    assert reason is not None and "loopback" in reason


def test_a_name_that_does_not_resolve_is_refused() -> None:
    reason = refusal("https://nowhere.example.com/in")
    assert reason is not None and "does not resolve" in reason


def test_a_slow_dns_answer_is_refused_within_the_timeout() -> None:
    resolver = FixedResolver({"slow.example.com": ["93.184.216.34"]}, delay_s=30)

    async def check() -> None:
        await check_url("https://slow.example.com/", STRICT, resolver=resolver, dns_timeout_s=0.1)

    with pytest.raises(UrlRefused, match="does not resolve"):
        asyncio.run(asyncio.wait_for(check(), timeout=5))


def test_localhost_is_refused_through_the_systems_own_resolver() -> None:
    with pytest.raises(UrlRefused, match="loopback"):
        asyncio.run(check_url("http://localhost:8080/", STRICT))


# -- what the operator allows


def test_allowed_ranges_let_local_receivers_in() -> None:
    local = AddressPolicy.from_setting("127.0.0.0/8, ::1/128")
    assert refusal("http://127.0.0.1:9000/hook", local) is None
    assert refusal("http://[::1]:9000/hook", local) is None
    assert refusal("http://[::ffff:127.0.0.1]:9000/hook", local) is None
    assert refusal("http://dev.test/hook", local, dev_test=["127.0.0.1"]) is None
    asyncio.run(check_url("http://localhost:9000/hook", local))  # the system's resolver
    # Only what was allowed.
    assert refusal("http://10.0.0.1/hook", local) is not None
    assert refusal("http://[fe80::1]/hook", local) is not None


def test_metadata_stays_refused_unless_allowed_by_itself() -> None:
    link_local = AddressPolicy.from_setting("169.254.0.0/16")
    assert refusal("http://169.254.1.2/", link_local) is None
    reason = refusal("http://169.254.169.254/latest/meta-data/", link_local)
    assert reason is not None and "metadata" in reason
    named = AddressPolicy.from_setting("169.254.169.254/32")
    assert refusal("http://169.254.169.254/latest/meta-data/", named) is None


@pytest.mark.parametrize("text", ["nonsense", "10.0.0.1/8", "127.0.0.0/33", "::1/129"])
def test_a_bad_allowed_range_is_refused_at_start(text: str) -> None:
    with pytest.raises(ValueError, match="bad network"):
        parse_nets(text)
    with pytest.raises(ValidationError, match="bad network"):
        Settings(webhook_allow_nets=text)


def test_allowed_ranges_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANDLINE_WEBHOOK_ALLOW_NETS", "127.0.0.0/8,::1/128")
    policy = AddressPolicy.from_setting(Settings().webhook_allow_nets)
    assert policy.refusal(ip_address("127.0.0.1")) is None
    assert policy.refusal(ip_address("::1")) is None
    assert AddressPolicy.from_setting(Settings(webhook_allow_nets="").webhook_allow_nets) == STRICT
    with pytest.raises(ValueError, match="at most"):
        parse_nets(",".join(f"10.0.{i}.0/24" for i in range(65)))


# -- at connect time


def test_the_resolver_drops_refused_answers_and_refuses_when_none_is_left() -> None:
    inner = FixedResolver(
        {"mixed.example.com": ["10.0.0.1", "93.184.216.34"], "inside.example.com": ["::1"]}
    )
    resolver = GuardedResolver(STRICT, inner)

    async def resolve(host: str) -> list[str]:
        return [r["host"] for r in await resolver.resolve(host, 443, socket.AF_UNSPEC)]

    assert asyncio.run(resolve("mixed.example.com")) == ["93.184.216.34"]
    with pytest.raises(AddressRefused, match="loopback"):
        asyncio.run(resolve("inside.example.com"))


def test_the_socket_factory_makes_no_socket_for_a_refused_address() -> None:
    make = guarded_socket_factory(STRICT)
    with pytest.raises(AddressRefused, match="loopback"):
        make((socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", 80)))
    with pytest.raises(AddressRefused, match="link-local"):
        make((socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("fe80::1%lo", 80, 0, 1)))
    with make((socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", 80))) as sock:
        assert sock.family == socket.AF_INET
