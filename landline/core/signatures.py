"""A line's signature: appended to every text its users send, after a newline."""

from __future__ import annotations

from landline.core.outbound import MAX_BODY_BYTES, InvalidSend

# Leaves room for a text: a signature this long still lets 49 bytes of body through.
MAX_SIGNATURE_BYTES = 200


class InvalidSignature(ValueError):
    pass


def check(signature: str) -> None:
    size = len(signature.encode("utf-8"))
    if size > MAX_SIGNATURE_BYTES:
        raise InvalidSignature(
            f"signature is {size} bytes; at most {MAX_SIGNATURE_BYTES} are allowed"
        )


def signed(body: str, signature: str | None, max_bytes: int = MAX_BODY_BYTES) -> str:
    """`body` as it goes out, with the signature; InvalidSend when the two together pass
    the limit, saying so."""
    if not signature:
        return body
    text = f"{body}\n{signature}"
    size = len(text.encode("utf-8"))
    if size > max_bytes:
        raise InvalidSend(
            "body",
            f"with the line's signature is {size} bytes; at most {max_bytes} are allowed "
            f"(the signature and its newline take {size - len(body.encode('utf-8'))})",
        )
    return text
