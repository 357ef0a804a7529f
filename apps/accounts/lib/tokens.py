"""Secrets handed to agents and share-link holders: random, prefixed, stored only as hashes."""

import hashlib
import secrets

RIG_TOKEN_PREFIX = "sc_rig_"  # noqa: S105 - a public prefix, not a secret
SHARE_TOKEN_PREFIX = "sc_share_"  # noqa: S105 - a public prefix, not a secret
INVITE_TOKEN_PREFIX = "sc_invite_"  # noqa: S105 - a public prefix, not a secret


def token_new(prefix: str, nbytes: int = 24) -> str:
    # 24 bytes = 192 bits of randomness, well past the 160-bit floor.
    return prefix + secrets.token_urlsafe(nbytes)


def token_hash(token: str) -> str:
    # Tokens carry 192 random bits, so a fast hash suffices: there is nothing to brute-force.
    return hashlib.sha256(token.encode()).hexdigest()
