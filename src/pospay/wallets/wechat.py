"""The WeChat-Pay-style wallet: its gateway (the simulator's side) and its client (the host's).

As WeChat Pay's v2 API: flat XML bodies (``<xml><appid>…</appid>…</xml>``) posted to one
path per operation, each carrying `appid`, `mch_id`, `nonce_str`, `sign_type`
(HMAC-SHA256) and `sign` (`wallets.signing`), answered with `return_code` (the call) and
`result_code` (the business), `err_code` saying why a business call failed, signed the
same way. Amounts are integer fen (`total_fee`, `refund_fee`).

| path | operation |
|---|---|
| `/pay/micropay` | pay with the customer's code; `err_code` USERPAYING: password awaited |
| `/pay/unifiedorder` | `trade_type` NATIVE: the order a merchant QR names (`code_url`) |
| `/pay/orderquery` | `trade_state`: SUCCESS, REFUND, NOTPAY, USERPAYING, PAYERROR, CLOSED, … |
| `/secapi/pay/reverse` | close an unpaid order, give a paid one back (`recall` N) |
| `/secapi/pay/refund`, `/pay/refundquery` | refund by `out_refund_no`, and ask about one |
| `/pospay/refundcancel` | pospay's extension: undo a refund (see `wallets.core`) |
| `/pay/downloadbill` | the day's bill as text, fields prefixed with a backtick |

A paid merchant-QR order is notified to its `notify_url` as signed XML; the merchant
answers ``<xml><return_code>SUCCESS</return_code></xml>``.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, date, datetime
from xml.sax.saxutils import escape

from defusedxml import ElementTree

from pospay.channels.wallet import RefundAnswer, WalletAnswer, WalletStatus
from pospay.clock import Clock
from pospay.errors import BadInput
from pospay.money import Money
from pospay.qr.customer_codes import Wallet
from pospay.wallets.alipay import BadSignature, UnverifiedAnswer
from pospay.wallets.core import DueNotification, OrderView, WalletCore
from pospay.wallets.refunds import RefundView
from pospay.wallets.signing import wechat_sign, wechat_verify
from pospay.wallets.transport import WalletTransport

XML = "text/xml; charset=utf-8"
TIME_FORMAT = "%Y%m%d%H%M%S"
ACKNOWLEDGED = b"<xml><return_code><![CDATA[SUCCESS]]></return_code></xml>"

_TRADE_STATE = {
    WalletStatus.WAITING: "NOTPAY",
    WalletStatus.PAYING: "USERPAYING",
    WalletStatus.PAID: "SUCCESS",
    WalletStatus.FAILED: "PAYERROR",
    WalletStatus.CLOSED: "CLOSED",
    WalletStatus.REVOKED: "REVOKED",
}
_STATE_OF = {state: status for status, state in _TRADE_STATE.items()} | {
    "REFUND": WalletStatus.PAID
}
_ERR_CODES = {
    "insufficient": "NOTENOUGH",
    "invalid_code": "AUTH_CODE_INVALID",
    "code_used": "AUTHCODEEXPIRE",
    "refused": "TRADE_ERROR",
}
_FAILURES = {code: failure for failure, code in _ERR_CODES.items()}


def to_xml(params: Mapping[str, str]) -> bytes:
    inner = "".join(f"<{name}>{escape(value)}</{name}>" for name, value in params.items())
    return f"<xml>{inner}</xml>".encode()


def from_xml(body: bytes) -> dict[str, str]:
    """The fields of a flat WeChat XML body; `BadInput` for anything else."""
    try:
        root = ElementTree.fromstring(body)
    except Exception as error:  # defusedxml raises several kinds, all meaning "not ours"
        raise BadInput(f"not a WeChat XML body: {error}") from None
    if root.tag != "xml":
        raise BadInput("a WeChat body's root element is <xml>")
    return {child.tag: (child.text or "") for child in root}


# --- the wallet's side ------------------------------------------------------------------


class WechatGateway:
    """The simulator's WeChat-Pay-style API over `core`; see the module docstring."""

    def __init__(self, core: WalletCore, clock: Clock, api_key: bytes, *, base_url: str = ""):
        self._core = core
        self._clock = clock
        self._key = api_key
        self._base_url = base_url
        self._paths: dict[str, Callable[[str, dict[str, str]], Awaitable[dict[str, str]]]] = {
            "/pay/micropay": self._micropay,
            "/pay/unifiedorder": self._unifiedorder,
            "/pay/orderquery": self._orderquery,
            "/secapi/pay/reverse": self._reverse,
            "/pay/closeorder": self._reverse,
            "/secapi/pay/refund": self._refund,
            "/pay/refundquery": self._refundquery,
            "/pospay/refundcancel": self._refundcancel,
        }

    async def handle(self, path: str, body: bytes) -> bytes | None:
        try:
            params = from_xml(body)
        except BadInput as error:
            return self._answer({"return_code": "FAIL", "return_msg": str(error)})
        if not wechat_verify(params, self._key):
            return self._answer({"return_code": "FAIL", "return_msg": "SIGNERROR"})
        if path == "/pay/downloadbill":
            return await self._bill(params)
        operation = self._paths.get(path)
        if operation is None:
            return self._answer({"return_code": "FAIL", "return_msg": f"no such API {path}"})
        try:
            fields = await operation(params.get("mch_id", ""), params)
        except (BadInput, KeyError, ValueError) as error:
            return self._answer({"return_code": "FAIL", "return_msg": f"PARAM_ERROR {error}"})
        if fields.pop("_silent", ""):
            return None
        common = {"return_code": "SUCCESS", "return_msg": "OK"}
        return self._answer(common | {k: params[k] for k in ("appid", "mch_id")} | fields)

    def notification(self, due: DueNotification) -> tuple[str, bytes]:
        order = due.order
        fields = {
            "return_code": "SUCCESS",
            "result_code": "SUCCESS" if order.status is WalletStatus.PAID else "FAIL",
            "trade_state": _TRADE_STATE[order.status],
            "mch_id": order.merchant_id,
            "nonce_str": f"n{due.notification_id}x{due.attempts}",
            "out_trade_no": order.order_no,
            "transaction_id": order.trade_no or "",
            "total_fee": str(order.amount.minor),
            "openid": order.payer_masked or "",
            "trade_type": "NATIVE",
            "time_end": _time(order.paid_at),
            "sign_type": "HMAC-SHA256",
        }
        fields["sign"] = wechat_sign(fields, self._key)
        return XML, to_xml(fields)

    def _answer(self, fields: dict[str, str]) -> bytes:
        fields = {k: v for k, v in fields.items() if v} | {
            "nonce_str": secrets.token_hex(8),
            "sign_type": "HMAC-SHA256",
        }
        fields["sign"] = wechat_sign(fields, self._key)
        return to_xml(fields)

    async def _micropay(self, mch_id: str, p: dict[str, str]) -> dict[str, str]:
        order = await self._core.pay(
            Wallet.WECHAT, mch_id, p["out_trade_no"], p["auth_code"], _fen(p["total_fee"])
        )
        fields = _trade(order)
        if order.status is not WalletStatus.PAID:
            err = "USERPAYING" if order.status is WalletStatus.PAYING else "ORDERCLOSED"
            err = _ERR_CODES.get(order.failure or "", err)
            fields |= {"result_code": "FAIL", "err_code": err, "err_code_des": order.reason}
        if order.silent:
            fields["_silent"] = "yes"
        return fields

    async def _unifiedorder(self, mch_id: str, p: dict[str, str]) -> dict[str, str]:
        expires = datetime.strptime(p["time_expire"], TIME_FORMAT).replace(tzinfo=UTC)
        order = await self._core.precreate(
            Wallet.WECHAT,
            mch_id,
            p["out_trade_no"],
            _fen(p["total_fee"]),
            expires_at=expires,
            notify_url=p.get("notify_url") or None,
        )
        return _trade(order) | {
            "trade_type": "NATIVE",
            "prepay_id": f"wx{order.order_no}",
            "code_url": f"weixin://wxpay/bizpayurl?pr={order.order_no}",
        }

    async def _orderquery(self, mch_id: str, p: dict[str, str]) -> dict[str, str]:
        order = await self._core.query(Wallet.WECHAT, mch_id, p["out_trade_no"])
        if order is None:
            return {"result_code": "FAIL", "err_code": "ORDERNOTEXIST"}
        return _trade(order)

    async def _reverse(self, mch_id: str, p: dict[str, str]) -> dict[str, str]:
        order = await self._core.cancel(Wallet.WECHAT, mch_id, p["out_trade_no"])
        return _trade(order) | {"recall": "N"}

    async def _refund(self, mch_id: str, p: dict[str, str]) -> dict[str, str]:
        refund = await self._core.refund(
            Wallet.WECHAT, mch_id, p["out_trade_no"], p["out_refund_no"], _fen(p["refund_fee"])
        )
        return _refund_fields(refund)

    async def _refundquery(self, mch_id: str, p: dict[str, str]) -> dict[str, str]:
        refund = await self._core.query_refund(Wallet.WECHAT, mch_id, p["out_refund_no"])
        if refund is None:
            return {"result_code": "FAIL", "err_code": "REFUNDNOTEXIST"}
        return _refund_fields(refund)

    async def _refundcancel(self, mch_id: str, p: dict[str, str]) -> dict[str, str]:
        refund = await self._core.cancel_refund(Wallet.WECHAT, mch_id, p["out_refund_no"])
        return _refund_fields(refund)

    async def _bill(self, p: dict[str, str]) -> bytes:
        day = datetime.strptime(p["bill_date"], "%Y%m%d").date()
        lines = await self._core.bill(Wallet.WECHAT, p.get("mch_id", ""), day)
        rows = ["交易时间,商户号,微信订单号,商户订单号,交易类型,商户退款单号,金额"]
        rows += [
            f"`{_time(line.at)},`{p.get('mch_id', '')},`{line.trade_no},`{line.order_no},"
            f"`{line.kind},`{line.refund_no},`{line.amount.minor}"
            for line in lines
        ]
        rows += ["总交易单数", f"`{len(lines)}"]
        return ("\n".join(rows) + "\n").encode("utf-8")


def _fen(text: str) -> Money:
    if not text.isdigit():
        raise BadInput(f"an amount in fen is digits, not {text!r}")
    return Money(int(text), "CNY")


def _time(moment: datetime | None) -> str:
    return "" if moment is None else moment.astimezone(UTC).strftime(TIME_FORMAT)


def _trade(order: OrderView) -> dict[str, str]:
    return {
        "result_code": "SUCCESS",
        "out_trade_no": order.order_no,
        "transaction_id": order.trade_no or "",
        "total_fee": str(order.amount.minor),
        "trade_state": _TRADE_STATE[order.status],
        "openid": order.payer_masked or "",
        "time_end": _time(order.paid_at),
        "pospay_failure": order.failure or "",
    }


def _refund_fields(refund: RefundView) -> dict[str, str]:
    fields = {
        "result_code": "SUCCESS" if refund.status != "refused" else "FAIL",
        "out_refund_no": refund.refund_no,
        "refund_fee": str(refund.amount.minor),
        "refund_status": {"done": "SUCCESS", "cancelled": "CANCELLED"}.get(
            refund.status, "REFUNDCLOSE"
        ),
    }
    if refund.status == "refused":
        fields |= {"err_code": "TRADE_STATE_ERROR", "err_code_des": refund.reason}
    return fields


# --- the merchant's side ----------------------------------------------------------------


class WechatClient:
    """The host's `channels.WalletChannel` to a WeChat-Pay-style wallet."""

    wallet = Wallet.WECHAT

    def __init__(
        self,
        transport: WalletTransport,
        *,
        app_id: str,
        mch_id: str,
        api_key: bytes,
        nonce: Callable[[], str] = lambda: secrets.token_hex(8),
        notify_url: str | None = None,
    ) -> None:
        self._transport = transport
        self._ids = {"appid": app_id, "mch_id": mch_id}
        self.merchant_id = mch_id
        self._key = api_key
        self._nonce = nonce
        self._notify_url = notify_url

    async def pay(self, order_no: str, code: str, amount: Money, subject: str) -> WalletAnswer:
        fields = await self._call(
            "/pay/micropay",
            {
                "body": subject,
                "out_trade_no": order_no,
                "total_fee": str(amount.minor),
                "spbill_create_ip": "127.0.0.1",
                "auth_code": code,
            },
        )
        return _answer(fields, order_no)

    async def precreate(
        self, order_no: str, amount: Money, subject: str, expires_at: datetime
    ) -> WalletAnswer:
        fields = await self._call(
            "/pay/unifiedorder",
            {
                "body": subject,
                "out_trade_no": order_no,
                "total_fee": str(amount.minor),
                "spbill_create_ip": "127.0.0.1",
                "trade_type": "NATIVE",
                "time_expire": _time(expires_at),
                "notify_url": self._notify_url or "",
            },
        )
        return _answer(fields, order_no)

    async def query(self, order_no: str) -> WalletAnswer | None:
        fields = await self._call("/pay/orderquery", {"out_trade_no": order_no})
        if fields.get("err_code") == "ORDERNOTEXIST":
            return None
        return _answer(fields, order_no)

    async def cancel(self, order_no: str) -> WalletAnswer:
        return _answer(
            await self._call("/secapi/pay/reverse", {"out_trade_no": order_no}), order_no
        )

    async def refund(self, order_no: str, refund_no: str, amount: Money) -> RefundAnswer:
        fields = await self._call(
            "/secapi/pay/refund",
            {
                "out_trade_no": order_no,
                "out_refund_no": refund_no,
                "refund_fee": str(amount.minor),
            },
        )
        return _refund_answer(fields, refund_no)

    async def query_refund(self, refund_no: str) -> RefundAnswer | None:
        fields = await self._call("/pay/refundquery", {"out_refund_no": refund_no})
        if fields.get("err_code") == "REFUNDNOTEXIST":
            return None
        return _refund_answer(fields, refund_no)

    async def cancel_refund(self, refund_no: str) -> RefundAnswer:
        fields = await self._call("/pospay/refundcancel", {"out_refund_no": refund_no})
        return _refund_answer(fields, refund_no)

    async def bill(self, day: date) -> str:
        body = self._signed({"bill_date": day.strftime("%Y%m%d"), "bill_type": "ALL"})
        return (await self._transport.post("/pay/downloadbill", body, XML)).decode("utf-8")

    def read_notification(self, body: bytes) -> WalletAnswer:
        fields = from_xml(body)
        if not wechat_verify(fields, self._key):
            raise BadSignature("the notification's HMAC-SHA256 signature does not verify")
        if "out_trade_no" not in fields:
            raise BadInput("a notification that names no order")
        paid = fields.get("result_code") == "SUCCESS"
        return WalletAnswer(
            Wallet.WECHAT,
            fields["out_trade_no"],
            WalletStatus.PAID
            if paid
            else _STATE_OF.get(fields.get("trade_state", ""), WalletStatus.CLOSED),
            _fen(fields.get("total_fee", "0")),
            trade_no=fields.get("transaction_id") or None,
            payer_masked=fields.get("openid") or None,
        )

    def _signed(self, fields: dict[str, str]) -> bytes:
        params = self._ids | fields | {"nonce_str": self._nonce(), "sign_type": "HMAC-SHA256"}
        params = {k: v for k, v in params.items() if v}
        params["sign"] = wechat_sign(params, self._key)
        return to_xml(params)

    async def _call(self, path: str, fields: dict[str, str]) -> dict[str, str]:
        raw = await self._transport.post(path, self._signed(fields), XML)
        try:
            answer = from_xml(raw)
        except BadInput:
            raise UnverifiedAnswer(f"{path}: the answer is not WeChat XML") from None
        if not wechat_verify(answer, self._key):
            raise UnverifiedAnswer(f"{path}: the answer's signature does not verify")
        if answer.get("return_code") != "SUCCESS":
            raise BadInput(f"{path} refused: {answer.get('return_msg')}")
        return answer


def _answer(fields: dict[str, str], order_no: str) -> WalletAnswer:
    state = fields.get("trade_state")
    err = fields.get("err_code", "")
    if err == "USERPAYING":
        status = WalletStatus.PAYING
    elif state in _STATE_OF:
        status = _STATE_OF[state]
        if fields.get("result_code") == "FAIL" and status is WalletStatus.WAITING:
            status = WalletStatus.FAILED
    else:
        status = WalletStatus.FAILED
    return WalletAnswer(
        Wallet.WECHAT,
        order_no,
        status,
        _fen(fields.get("total_fee", "0") or "0"),
        trade_no=fields.get("transaction_id") or None,
        payer_masked=fields.get("openid") or None,
        failure=fields.get("pospay_failure") or _FAILURES.get(err),
        reason=fields.get("err_code_des", ""),
    )


def _refund_answer(fields: dict[str, str], refund_no: str) -> RefundAnswer:
    status = {"SUCCESS": "done", "CANCELLED": "cancelled"}.get(
        fields.get("refund_status", ""), "refused"
    )
    return RefundAnswer(
        refund_no,
        status,
        _fen(fields.get("refund_fee", "0") or "0"),
        fields.get("err_code_des", ""),
    )
