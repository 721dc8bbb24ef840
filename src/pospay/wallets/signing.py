"""Signing wallet messages as the two wallets do.

Both sign a *signing string*: every parameter but the signature itself (and, for Alipay
notifications, `sign_type`), empty values left out, sorted by name, joined as
``name=value`` with ``&``.

- Alipay RSA2: SHA256withRSA (PKCS #1 v1.5) over the signing string's UTF-8 bytes,
  base64. An answer is signed over its response object's JSON text; pospay writes that
  text canonically (keys sorted, no spaces), so both sides can rebuild it.
- WeChat Pay HMAC-SHA256: the signing string plus ``&key=`` and the API key, HMAC-SHA256
  under the API key, upper-case hex.

>>> signing_string({"b": "2", "a": "1", "sign": "x", "c": ""})
'a=1&b=2'
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey


def signing_string(params: Mapping[str, str], leave_out: Iterable[str] = ("sign",)) -> str:
    skip = set(leave_out)
    return "&".join(
        f"{name}={value}" for name, value in sorted(params.items()) if name not in skip and value
    )


def canonical_json(value: Any) -> str:
    """The JSON text an Alipay-style answer object is signed over."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def rsa2_sign(key: RSAPrivateKey, content: str) -> str:
    signature = key.sign(content.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(signature).decode("ascii")


def rsa2_verify(key: RSAPublicKey, content: str, signature: str) -> bool:
    try:
        raw = base64.b64decode(signature, validate=True)
        key.verify(raw, content.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError):
        return False
    return True


def wechat_sign(params: Mapping[str, str], key: bytes) -> str:
    text = f"{signing_string(params)}&key={key.decode('ascii')}"
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest().upper()


def wechat_verify(params: Mapping[str, str], key: bytes) -> bool:
    return hmac.compare_digest(params.get("sign", ""), wechat_sign(params, key))
