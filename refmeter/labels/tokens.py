"""The label token: what the QR code carries, and its check.

    byte 0      format version (1)
    byte 1      signing key number (1-255)
    bytes 2-5   label serial, unsigned, big-endian
    bytes 6-10  account number (10 digits as an unsigned integer)
    bytes 11-74 Ed25519 signature over bytes 0-10

75 bytes, base64url without padding: 100 characters. A device that holds only the
public key(s) can check a label offline; nobody without the private key can make
or alter one.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

VERSION = 1
SIGNED_LENGTH = 11
TOKEN_LENGTH = SIGNED_LENGTH + 64


class MalformedToken(Exception):
    pass


@dataclass(frozen=True)
class TokenParts:
    key_id: int
    serial: int
    account_number: str
    signed: bytes
    signature: bytes


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    padded = text + "=" * (-len(text) % 4)
    return base64.urlsafe_b64decode(padded.encode("ascii"))


def token_make(
    *, key_id: int, serial: int, account_number: str, private_key: Ed25519PrivateKey
) -> str:
    if not (1 <= key_id <= 255):
        raise ValueError("key_id must fit one byte")
    if not (account_number.isascii() and account_number.isdigit() and len(account_number) == 10):
        raise ValueError("account numbers have 10 digits")
    signed = (
        bytes([VERSION, key_id])
        + serial.to_bytes(4, "big")
        + int(account_number).to_bytes(5, "big")
    )
    return _b64encode(signed + private_key.sign(signed))


def token_read(token: str) -> TokenParts:
    """Split a token (or a scan URL ending in one) into its parts; the signature is not checked."""
    text = token.strip().rstrip("/").rsplit("/", 1)[-1]
    if len(text) != 100 or not all(c.isalnum() or c in "-_" for c in text):
        raise MalformedToken("not a label token")
    try:
        raw = _b64decode(text)
    except (binascii.Error, ValueError) as error:
        raise MalformedToken("not base64") from error
    if len(raw) != TOKEN_LENGTH or raw[0] != VERSION:
        raise MalformedToken("wrong length or version")
    account = int.from_bytes(raw[6:11], "big")
    if account >= 10**10:
        raise MalformedToken("account number out of range")
    return TokenParts(
        key_id=raw[1],
        serial=int.from_bytes(raw[2:6], "big"),
        account_number=f"{account:010d}",
        signed=raw[:SIGNED_LENGTH],
        signature=raw[SIGNED_LENGTH:],
    )


def signature_valid(parts: TokenParts, public_key: Ed25519PublicKey) -> bool:
    try:
        public_key.verify(parts.signature, parts.signed)
    except InvalidSignature:
        return False
    return True


def public_key_text(key: Ed25519PublicKey) -> str:
    from cryptography.hazmat.primitives import serialization

    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode("ascii")


def private_key_text(key: Ed25519PrivateKey) -> str:
    from cryptography.hazmat.primitives import serialization

    raw = key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    return base64.b64encode(raw).decode("ascii")


def public_key_load(text: str) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(base64.b64decode(text))


def private_key_load(text: str) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(base64.b64decode(text))
