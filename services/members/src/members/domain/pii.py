"""Personal data at rest: phone numbers encrypted with AES-GCM, plus a keyed hash for lookups.

Two independent keys are derived from the one configured secret (HKDF with distinct labels), so the
lookup hash reveals nothing about the encryption key. The hash is deterministic by design: it backs
the unique index per brand and lets loyalty match orders taken before a member registered.
"""

from __future__ import annotations

import hashlib
import hmac
import os

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

# Stored with each ciphertext so a future key rotation can tell old from new.
KEY_VERSION = b"k1"
_NONCE_BYTES = 12


def _derive(secret: str, label: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=label).derive(secret.encode())


class PiiCipher:
    """Encrypts/decrypts phone numbers and computes their lookup hash."""

    def __init__(self, secret: str) -> None:
        if not secret:
            raise ValueError("the PII key is empty")
        self._aead = AESGCM(_derive(secret, b"crm.members.pii.encrypt.v1"))
        self._hash_key = _derive(secret, b"crm.members.pii.phone-hash.v1")
        self._name_key = _derive(secret, b"crm.members.pii.name-prefix.v1")

    def phone_hash(self, e164: str) -> str:
        """HMAC-SHA256 of an E.164 number, hex: equal phones give equal hashes under the same key."""
        return hmac.new(self._hash_key, e164.encode(), hashlib.sha256).hexdigest()

    def name_key(self, prefix: str) -> str:
        """Keyed hash of a normalised name prefix (truncated: it only has to tell prefixes apart)."""
        return hmac.new(self._name_key, prefix.encode(), hashlib.sha256).hexdigest()[:24]

    def encrypt(self, plaintext: str, *, context: str) -> bytes:
        """AES-GCM with a random nonce; ``context`` (e.g. the brand id) is bound as associated data so a
        ciphertext copied into another brand's record fails to decrypt."""
        nonce = os.urandom(_NONCE_BYTES)
        return KEY_VERSION + nonce + self._aead.encrypt(nonce, plaintext.encode(), context.encode())

    def decrypt(self, blob: bytes, *, context: str) -> str:
        """Reverse of ``encrypt``; raises ``cryptography.exceptions.InvalidTag`` on tampering."""
        version, rest = blob[: len(KEY_VERSION)], blob[len(KEY_VERSION) :]
        if version != KEY_VERSION:
            raise ValueError(f"unknown PII key version {version!r}")
        nonce, ciphertext = rest[:_NONCE_BYTES], rest[_NONCE_BYTES:]
        return self._aead.decrypt(nonce, ciphertext, context.encode()).decode()
