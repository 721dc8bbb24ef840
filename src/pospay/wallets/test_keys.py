"""The documented TEST-ONLY keys of the wallet channels: never use them for real money.

Alipay-style requests are signed RSA2 (SHA256withRSA, 2048 bits) with the merchant's
(the acquiring host's) private key and verified with its public key at the wallet; the
wallet signs its answers and notifications with its own private key, which the host
verifies with the wallet's public key. WeChat-Pay-style messages are signed HMAC-SHA256
with one key both sides share (the merchant's API key). Like the test TMK of the card
link, these keys are published so that any test party can talk to the simulator.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

TEST_MERCHANT_PRIVATE_KEY_PEM = """\
-----BEGIN PRIVATE KEY-----
MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQDkx3D145779mHf
drrH55oPDXfPOeCW+FdyphwCJ+gm3xsiDDhY3J9/TOhbRqw3Ro9RJHgSeNZoMOhj
EkTbOrYsV7gAg5PHORxhD8HQmkvfJGCU3n5r0/n0rEvxmzYvRPNEDgvihBCMmBgq
SWDFx/w7crbjCmFS48IuRqUOd5HawQECOWhe1+RqDKCf5w9rXXMRFY9AIRtpnMjp
dvB+8+WPUK4ql+Ft9hdCvMNg72b0umjuEr305M3+YcCD7nouxv5yC0kld4sE5ZUG
7Ba879WwwUcuPImzLuBlrgEQuVLRT5nvLF5nKwajVaMePGozlqYhZ6uknwC6ufbJ
6VYfa+GBAgMBAAECggEAFDWXAa2YDXdkCW6uTLrlhcdhikV5VLS+2tKYHkuiqw5h
0fXk41qn30Gus+NwEpjxz4/qaG1SuVT6rke+m+QZlByylR8KZpqhqmRPMWtz4NQQ
kQ3/emx5A9dVhRP6Kx5K4/veqmWSpazI07F0Mjx6iFDXnYI8+yrB7D8S1Q6UbI+d
0rM6pk4qjU1+hFPfE1qnW3Hu6MdDYF167fHveCPGxJ/xTtaDK3H/oFT82QryDFWd
caV6sFcAj69hzOUXQazRGJvJ2gs0vNPArQlXhTI7p3q2b4gGkMk9Y8aylfgLQ+ku
RUuxllENHXqSjxd8mXfnUD6vEUzepaBUW7huBRuivQKBgQDzJsGfrDeMyO2jafsN
HkUxPDv+JnlgsuavI1ek91fDdlg4YshfNSjwpZVKyZ5ygXNWeqbsugCWuN2VPGr9
426NyOxa4gZ6TFIuw5E6PUtjBvJ7tcPhlxOpKcqYz8asBK1iz7w0viDgEBLy6HjI
aH+1wNiDDJiy5acDrAZ/7QusTQKBgQDw3kMzvdVKdtsY8cMLJW4wbTJYPDHBQKlf
2s0PlhpoPBJjECa1wEAhZHK8hcUjfOY33EJE2desQg7/gB6wzgMSmOAHmQmqsXTx
YIzh75tjslCgz0moX1RDP/80np84at2pMzplgvAnBB+b9gqTCXNYmM6ZrQVSjY95
O8QX32mUBQKBgAPt1WUiIEerG4Pve3oLyixwf7usnXt9iJK97HWi9Y0YBXbrybcY
IdA5rL7noSLSiq2UD8x1ePr2g8YcktIFccziuUcCrf4d65oL2PXq9aPlAdgT6NVl
XpD2NurfOKOg87hMCQuFIvzb5aJ9NS5v2dhzBEyh0HnbkiZSCkzY5L5lAoGBAMkZ
+OexPewu8dyQtTSQKsB52we6MhxUXVVve7fgremLBhr5eChU+/YlRHpMAX0QobHP
zvBnJN9oQ9dkY7tgNUaIprsRNfXytV12LAnTIFyLmy+4AZp3BQYk33FSYkMbTjgf
UklAmjspAS8YrFl5EXnOEuhRgdkb4cbpdF4uJJr1AoGBAKutgQCAIEXcnExx5Fr7
DfqfWUSF9xKh69Y0MD8o0RlcGVGSUjOKjrMt0clfwDTFBgmBBdvwCWCmHh9Q5Usx
WKCmyQWPI1FtYCj0X9hy68tdG0LZxOVP+NQTG3gS4cgNTqsfZCVmN6heGsav7GN8
03yFdttBXzpW1jJOsacE24rV
-----END PRIVATE KEY-----
"""

TEST_WALLET_PRIVATE_KEY_PEM = """\
-----BEGIN PRIVATE KEY-----
MIIEvAIBADANBgkqhkiG9w0BAQEFAASCBKYwggSiAgEAAoIBAQCvbxO/hSjjx/Eg
NeeYZvv9+ZVWtPFwiCIoCdWS4PcM8fZ/v5rFgxARjMOd95+3c4WVu2bM4/paqEqC
MwMJU5+iSeyZFlwnTldGbui4hcyKyUBzYixH4ZvTuOD9ZBQJoBn6UpIwdIqG+CFd
HVvGv2RzRPhr3YoNVbf2vxonDKrVVCs2/8/iDWEClLXlHw/222XuWZAQyGbwLDHk
RL3n/Eg/RRIoKaX/HoYPelHsQGKpXZxzCL6DK02WHLA7ADo1YJ6CfstYbY6Diej5
FjrlcyCbW9+f9SNHyaZNUfX+mRiebyvLOwMA0Gi15xx5dTcjCOeotw6hQkhvIbow
LLtHMY4LAgMBAAECggEAC17JpHoYiMFAUY25pIw+lnScraTG/6ImUWE0/gxynQ/G
bpUxwZqZagNgXyNze8v5XOQ4HEN4yg0D3aU5jY5liq374n6RtNwQ/NGnZ7Ft7MWk
CPAHkRXmqAKtiMuTUn378Qt0/VfJ7eGBi0VuponOrhUXfMMJDyaYTvfBb19IAZ3g
cGAdqNp8BAkRrf8GDrJxg2/1I08/DnlEHnPdbSUeHEx3wKhRQoOfQbq35G57dNOH
cKMxgvho81ghi3vt1duwWtgawbhHjwB9F0WAnXNstvKe0QfoasAPDfOG2QrC1AyG
dOxlbm+pWpzGHJUQ/Fw3wF9DLPS4ekLmbBUKvkWMEQKBgQDwXwOivpjvH8tA4wBG
B61+/w8o8jXsOj6MaNh00VNrn/nH+v7lTJEUD7v1QbJDUFo3svF7uM/BfB3x6Xh/
SJNuzdR2rH6w/PK8Oua54iKN1StAz/zaeQNsD/BT+UZCSdNFCDz6PXqpwb5xy7U6
4kiyQzroeBQ6T65i0WuDxZdzZQKBgQC61y4gHDCT0oVrCSphoxCru7tim3OAwSSf
4ckPMXVvyXKhZxf6UCPLgHr6xIt6NAVUijhaEZOaPlUj4ij6xm0zXLFSaoO50Tmn
wUinuIGM3pQs5neIv/3hQe1D0lv7XAA1Ep3xi5q06I4qMv6krhRD+FxII7zhIHn6
Wf1XCEY8rwKBgCy/A0ZAhOe+229w0pQ2ya1ifcf5juAy14H74o+ciBL47N61cs3s
uvUpGKxHVpABXUoRHbMSbFpwaIKoG65WLFvsJSkSY2M/M1CnBlyEJDqS/EJMdZ2V
+XUcYni/ZrzgUVwAdJmA6FzBnFpCubIEfdPxf/3WnK1eN/BdW85j8hWhAoGAL7OY
VyJbVKI+5eDlLSBQtUesw7QkfQ7Spu8iQfrCnNO1rHeBq6qiOOaIf1WGtqBpa/gO
AxDRumOHoS2wgLYAU0irDPucvego7CdwwUFd8fUxp3T/t64sx0HprZMbYMVQWDx0
jqKx0NY+1Y9HbAv1qJTUGqblJiUAf2ZSQ9Ic/IkCgYAbrRVXjL/9+yT8ROXVwwuN
jsV17MhW0jt96X66pmZsWA9YSlxDHHJaP+DJ+IHPfA/aaaCtwUDbRew2gjqGrvmc
eihH9qJ85MXXENq5rVC/FkDPD/xBmQGeksl/IilAlShAj3zsEcR0+HztMbUJh6xR
OME6WHW2y2e+e7Ke2n6Icg==
-----END PRIVATE KEY-----
"""

# The WeChat-Pay-style API key (32 characters) of the test merchant.
TEST_WECHAT_API_KEY = b"POSPAYTESTONLYWECHATAPIKEY000001"

# The ids the test merchant (the pospay host) has at the wallets: Alipay's app_id,
# WeChat Pay's appid and mch_id.
TEST_ALIPAY_APP_ID = "2026000000000001"
TEST_WECHAT_APP_ID = "wxpospaytest00001"
TEST_WECHAT_MCH_ID = "1900000001"


@cache
def _private(pem: str) -> RSAPrivateKey:
    key = load_pem_private_key(pem.encode("ascii"), password=None)
    assert isinstance(key, RSAPrivateKey)
    return key


@dataclass(frozen=True, slots=True)
class AlipayKeys:
    """One side's keys: its own private key and the other side's public key."""

    own: RSAPrivateKey = field(repr=False)
    peer: RSAPublicKey


def merchant_alipay_keys() -> AlipayKeys:
    """The host's keys: it signs with the merchant key, verifies with the wallet's."""
    return AlipayKeys(
        _private(TEST_MERCHANT_PRIVATE_KEY_PEM), _private(TEST_WALLET_PRIVATE_KEY_PEM).public_key()
    )


def wallet_alipay_keys() -> AlipayKeys:
    """The wallet's keys: it signs with its own key, verifies with the merchant's."""
    return AlipayKeys(
        _private(TEST_WALLET_PRIVATE_KEY_PEM), _private(TEST_MERCHANT_PRIVATE_KEY_PEM).public_key()
    )
