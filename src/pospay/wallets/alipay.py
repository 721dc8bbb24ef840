"""The Alipay-style wallet: its gateway (the simulator's side) and its client (the host's).

As Alipay's open API: one gateway path, `/gateway.do`, takes form-encoded requests with
the common parameters `app_id`, `method`, `format` (JSON), `charset` (utf-8), `sign_type`
(RSA2), `timestamp`, `version` (1.0), `notify_url` and `biz_content` (the business
parameters as JSON), signed RSA2 by the merchant (`wallets.signing`). The answer is
``{"<method>_response": {...}, "sign": "..."}`` with `_` for `.` in the method, signed by
the wallet over the response object. Codes: `10000` success, `10003` waiting for the
payer (USERPAYING), `40004` business failure (`sub_code` says which), `40002` bad request
or signature.

Methods: `alipay.trade.pay` (customer-presented code, `scene` bar_code), `.precreate`
(merchant QR), `.query`, `.cancel` (closes or revokes; `action` close | refund),
`.refund`, `.fastpay.refund.query`, `alipay.data.dataservice.bill.downloadurl.query`
(the bill is then fetched from `bill_download_url`), and pospay's `pospay.trade.refund.cancel`
(see `wallets.core`). Amounts are yuan as text ("12.50"). A paid merchant-QR order is
notified to its `notify_url` as a signed form (`trade_status_sync`); the merchant answers
``success``.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qsl, urlencode

from pospay.channels.wallet import RefundAnswer, WalletAnswer, WalletStatus
from pospay.clock import Clock
from pospay.errors import BadInput
from pospay.money import Money
from pospay.qr.customer_codes import Wallet
from pospay.wallets.core import DueNotification, OrderView, WalletCore
from pospay.wallets.refunds import RefundView
from pospay.wallets.signing import canonical_json, rsa2_sign, rsa2_verify, signing_string
from pospay.wallets.test_keys import AlipayKeys, merchant_alipay_keys, wallet_alipay_keys
from pospay.wallets.transport import WalletTransport

GATEWAY = "/gateway.do"
BILL_PATH = "/bill"
FORM = "application/x-www-form-urlencoded"
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"

SUCCESS, PAYING, FAILURE, BAD_REQUEST = "10000", "10003", "40004", "40002"

_TRADE_STATUS = {
    WalletStatus.WAITING: "WAIT_BUYER_PAY",
    WalletStatus.PAYING: "WAIT_BUYER_PAY",
    WalletStatus.PAID: "TRADE_SUCCESS",
    WalletStatus.FAILED: "TRADE_CLOSED",
    WalletStatus.CLOSED: "TRADE_CLOSED",
    WalletStatus.REVOKED: "TRADE_CLOSED",
}
_SUB_CODES = {
    "insufficient": "ACQ.BUYER_BALANCE_NOT_ENOUGH",
    "invalid_code": "ACQ.PAYMENT_AUTH_CODE_INVALID",
    "code_used": "ACQ.PAYMENT_AUTH_CODE_INVALID",
    "refused": "ACQ.PAYMENT_FAIL",
}
_FAILURES = {code: failure for failure, code in _SUB_CODES.items() if failure != "code_used"}


class BadSignature(BadInput):
    """A wallet message whose signature does not verify: not to be acted on."""


class UnverifiedAnswer(TimeoutError):
    """The wallet's answer did not verify: as if none came (the call may have acted)."""


def yuan(amount: Money) -> str:
    return f"{amount.as_decimal():.2f}"


def read_yuan(text: str, currency: str = "CNY") -> Money:
    try:
        scaled = Decimal(text).scaleb(2)
    except InvalidOperation:
        raise BadInput(f"amount {text!r} is not a decimal") from None
    if scaled != scaled.to_integral_value():
        raise BadInput(f"amount {text!r} has more than two decimals")
    return Money(int(scaled), currency)


# --- the wallet's side ------------------------------------------------------------------


class AlipayGateway:
    """The simulator's Alipay-style API over `core`. `handle` takes a request body and
    gives the answer body, or None when the test behaviour is never to answer."""

    def __init__(
        self,
        core: WalletCore,
        clock: Clock,
        keys: AlipayKeys | None = None,
        *,
        base_url: str = "",
    ) -> None:
        self._core = core
        self._clock = clock
        self._keys = keys or wallet_alipay_keys()
        self._base_url = base_url
        self._methods: dict[str, Callable[[str, dict[str, Any]], Awaitable[dict[str, Any]]]] = {
            "alipay.trade.pay": self._pay,
            "alipay.trade.precreate": self._precreate,
            "alipay.trade.query": self._query,
            "alipay.trade.cancel": self._cancel,
            "alipay.trade.refund": self._refund,
            "alipay.trade.fastpay.refund.query": self._refund_query,
            "pospay.trade.refund.cancel": self._refund_cancel,
            "alipay.data.dataservice.bill.downloadurl.query": self._bill_url,
        }

    async def handle(self, path: str, body: bytes) -> bytes | None:
        if path.startswith(BILL_PATH):
            return await self._bill(path)
        params = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        method = params.get("method", "")
        if method not in self._methods:
            return self._answer(method or "unknown", _failure(BAD_REQUEST, "isv.invalid-method"))
        if not rsa2_verify(self._keys.peer, signing_string(params), params.get("sign", "")):
            return self._answer(method, _failure(BAD_REQUEST, "isv.invalid-signature"))
        try:
            biz = json.loads(params.get("biz_content", "{}"))
            if params.get("notify_url"):
                biz["notify_url"] = params["notify_url"]
            node = await self._methods[method](params.get("app_id", ""), biz)
        except (BadInput, KeyError, ValueError) as error:
            node = _failure(BAD_REQUEST, "isv.missing-or-invalid-parameter", str(error))
        if node.pop("_silent", False):
            return None
        return self._answer(method, node)

    def notification(self, due: DueNotification) -> tuple[str, bytes]:
        """The signed form a paid order's notification carries: (content type, body)."""
        order = due.order
        params = {
            "notify_time": _time(self._clock.now()),
            "notify_type": "trade_status_sync",
            "notify_id": f"{order.trade_no}-{due.notification_id}",
            "app_id": order.merchant_id,
            "trade_no": order.trade_no or "",
            "out_trade_no": order.order_no,
            "trade_status": _TRADE_STATUS[order.status],
            "total_amount": yuan(order.amount),
            "buyer_logon_id": order.payer_masked or "",
            "gmt_payment": _time(order.paid_at),
            "sign_type": "RSA2",
        }
        text = signing_string(params, ("sign", "sign_type"))
        params["sign"] = rsa2_sign(self._keys.own, text)
        return FORM, urlencode(params).encode("utf-8")

    def _answer(self, method: str, node: dict[str, Any]) -> bytes:
        key = method.replace(".", "_") + "_response"
        signed = {key: node, "sign": rsa2_sign(self._keys.own, canonical_json(node))}
        return json.dumps(signed, ensure_ascii=False).encode("utf-8")

    async def _pay(self, app_id: str, biz: dict[str, Any]) -> dict[str, Any]:
        order = await self._core.pay(
            Wallet.ALIPAY,
            app_id,
            biz["out_trade_no"],
            biz["auth_code"],
            read_yuan(biz["total_amount"]),
        )
        node = _trade(order)
        if order.status is WalletStatus.PAYING:
            node |= {"code": PAYING, "msg": "Order success pay inprocess"}
        elif order.status is WalletStatus.FAILED:
            node |= _failure(FAILURE, _SUB_CODES.get(order.failure or "", "ACQ.SYSTEM_ERROR"))
            node["sub_msg"] = order.reason
        elif order.status is not WalletStatus.PAID:
            node |= _failure(FAILURE, "ACQ.TRADE_HAS_CLOSE", order.reason)
        if order.silent:
            node["_silent"] = True
        return node

    async def _precreate(self, app_id: str, biz: dict[str, Any]) -> dict[str, Any]:
        expires_at = datetime.strptime(biz["time_expire"], TIME_FORMAT).replace(tzinfo=UTC)
        order = await self._core.precreate(
            Wallet.ALIPAY,
            app_id,
            biz["out_trade_no"],
            read_yuan(biz["total_amount"]),
            expires_at=expires_at,
            notify_url=biz.get("notify_url"),
        )
        return _trade(order) | {"qr_code": f"{self._base_url}/qr/{order.order_no}"}

    async def _query(self, app_id: str, biz: dict[str, Any]) -> dict[str, Any]:
        order = await self._core.query(Wallet.ALIPAY, app_id, biz["out_trade_no"])
        if order is None:
            return _failure(FAILURE, "ACQ.TRADE_NOT_EXIST", "no such trade")
        return _trade(order)

    async def _cancel(self, app_id: str, biz: dict[str, Any]) -> dict[str, Any]:
        order = await self._core.cancel(Wallet.ALIPAY, app_id, biz["out_trade_no"])
        action = "refund" if order.status is WalletStatus.REVOKED else "close"
        return _trade(order) | {"retry_flag": "N", "action": action}

    async def _refund(self, app_id: str, biz: dict[str, Any]) -> dict[str, Any]:
        refund = await self._core.refund(
            Wallet.ALIPAY,
            app_id,
            biz["out_trade_no"],
            biz["out_request_no"],
            read_yuan(biz["refund_amount"]),
        )
        return _refund_node(refund)

    async def _refund_query(self, app_id: str, biz: dict[str, Any]) -> dict[str, Any]:
        refund = await self._core.query_refund(Wallet.ALIPAY, app_id, biz["out_request_no"])
        if refund is None:
            return _failure(FAILURE, "ACQ.TRADE_NOT_EXIST", "no such refund")
        return _refund_node(refund)

    async def _refund_cancel(self, app_id: str, biz: dict[str, Any]) -> dict[str, Any]:
        refund = await self._core.cancel_refund(Wallet.ALIPAY, app_id, biz["out_request_no"])
        return _refund_node(refund)

    async def _bill_url(self, app_id: str, biz: dict[str, Any]) -> dict[str, Any]:
        day = biz["bill_date"]
        date.fromisoformat(day)
        url = f"{self._base_url}{BILL_PATH}/{app_id}/{day}"
        return {"code": SUCCESS, "msg": "Success", "bill_download_url": url}

    async def _bill(self, path: str) -> bytes:
        parts = path.strip("/").split("/")
        app_id, day = parts[-2], parts[-1]
        lines = await self._core.bill(Wallet.ALIPAY, app_id, date.fromisoformat(day))
        rows = [
            "#支付宝业务明细查询 pospay",
            "支付宝交易号,商户订单号,业务类型,退款批次号,完成时间,金额",
        ]
        rows += [
            f"{line.trade_no},{line.order_no},{line.kind},{line.refund_no},"
            f"{_time(line.at)},{yuan(line.amount)}"
            for line in lines
        ]
        rows.append(f"#总笔数 {len(lines)}")
        return ("\n".join(rows) + "\n").encode("utf-8")


def _failure(code: str, sub_code: str, sub_msg: str = "") -> dict[str, Any]:
    msg = "Business Failed" if code == FAILURE else "Invalid Arguments"
    return {"code": code, "msg": msg, "sub_code": sub_code, "sub_msg": sub_msg or sub_code}


def _trade(order: OrderView) -> dict[str, Any]:
    node: dict[str, Any] = {
        "code": SUCCESS,
        "msg": "Success",
        "out_trade_no": order.order_no,
        "total_amount": yuan(order.amount),
        "trade_status": _TRADE_STATUS[order.status],
        "pospay_status": order.status.value,
    }
    if order.trade_no:
        node["trade_no"] = order.trade_no
    if order.payer_masked:
        node["buyer_logon_id"] = order.payer_masked
    if order.paid_at:
        node["gmt_payment"] = _time(order.paid_at)
    if order.failure:
        node["pospay_failure"] = order.failure
    return node


def _refund_node(refund: RefundView) -> dict[str, Any]:
    node: dict[str, Any] = {
        "code": SUCCESS if refund.status != "refused" else FAILURE,
        "msg": "Success" if refund.status != "refused" else "Business Failed",
        "out_request_no": refund.refund_no,
        "refund_amount": yuan(refund.amount),
        "refund_status": {"done": "REFUND_SUCCESS", "cancelled": "REFUND_CANCELLED"}.get(
            refund.status, "REFUND_FAIL"
        ),
        "fund_change": "Y" if refund.status == "done" else "N",
    }
    if refund.status == "refused":
        node |= {"sub_code": "ACQ.TRADE_STATUS_ERROR", "sub_msg": refund.reason}
    return node


def _time(moment: datetime | None) -> str:
    return "" if moment is None else moment.astimezone(UTC).strftime(TIME_FORMAT)


# --- the merchant's side ----------------------------------------------------------------


class AlipayClient:
    """The host's `channels.WalletChannel` to an Alipay-style wallet."""

    wallet = Wallet.ALIPAY

    def __init__(
        self,
        transport: WalletTransport,
        *,
        app_id: str,
        clock: Clock,
        keys: AlipayKeys | None = None,
        notify_url: str | None = None,
    ) -> None:
        self._transport = transport
        self._app_id = app_id
        self.merchant_id = app_id
        self._clock = clock
        self._keys = keys or merchant_alipay_keys()
        self._notify_url = notify_url

    async def pay(self, order_no: str, code: str, amount: Money, subject: str) -> WalletAnswer:
        biz = {
            "out_trade_no": order_no,
            "scene": "bar_code",
            "auth_code": code,
            "subject": subject,
            "total_amount": yuan(amount),
        }
        return _order_answer(await self._call("alipay.trade.pay", biz), order_no, amount)

    async def precreate(
        self, order_no: str, amount: Money, subject: str, expires_at: datetime
    ) -> WalletAnswer:
        biz = {
            "out_trade_no": order_no,
            "subject": subject,
            "total_amount": yuan(amount),
            "time_expire": _time(expires_at),
        }
        node = await self._call("alipay.trade.precreate", biz, notify=True)
        return _order_answer(node, order_no, amount)

    async def query(self, order_no: str) -> WalletAnswer | None:
        node = await self._call("alipay.trade.query", {"out_trade_no": order_no})
        if node.get("sub_code") == "ACQ.TRADE_NOT_EXIST":
            return None
        return _order_answer(node, order_no, None)

    async def cancel(self, order_no: str) -> WalletAnswer:
        node = await self._call("alipay.trade.cancel", {"out_trade_no": order_no})
        return _order_answer(node, order_no, None)

    async def refund(self, order_no: str, refund_no: str, amount: Money) -> RefundAnswer:
        biz = {"out_trade_no": order_no, "out_request_no": refund_no, "refund_amount": yuan(amount)}
        return _refund_answer(await self._call("alipay.trade.refund", biz), refund_no)

    async def query_refund(self, refund_no: str) -> RefundAnswer | None:
        node = await self._call("alipay.trade.fastpay.refund.query", {"out_request_no": refund_no})
        if node.get("sub_code") == "ACQ.TRADE_NOT_EXIST":
            return None
        return _refund_answer(node, refund_no)

    async def cancel_refund(self, refund_no: str) -> RefundAnswer:
        node = await self._call("pospay.trade.refund.cancel", {"out_request_no": refund_no})
        return _refund_answer(node, refund_no)

    async def bill(self, day: date) -> str:
        node = await self._call(
            "alipay.data.dataservice.bill.downloadurl.query",
            {"bill_type": "trade", "bill_date": day.isoformat()},
        )
        url = str(node["bill_download_url"])
        path = url[url.index(BILL_PATH) :]
        return (await self._transport.post(path, b"", FORM)).decode("utf-8")

    def read_notification(self, body: bytes) -> WalletAnswer:
        """The order a notification reports; `BadSignature` if it does not verify."""
        params = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        text = signing_string(params, ("sign", "sign_type"))
        if not rsa2_verify(self._keys.peer, text, params.get("sign", "")):
            raise BadSignature("the notification's RSA2 signature does not verify")
        status = {
            "TRADE_SUCCESS": WalletStatus.PAID,
            "TRADE_FINISHED": WalletStatus.PAID,
            "TRADE_CLOSED": WalletStatus.CLOSED,
        }.get(params.get("trade_status", ""))
        if status is None or "out_trade_no" not in params:
            raise BadInput(f"a notification of trade status {params.get('trade_status')!r}")
        return WalletAnswer(
            Wallet.ALIPAY,
            params["out_trade_no"],
            status,
            read_yuan(params.get("total_amount", "0")),
            trade_no=params.get("trade_no") or None,
            payer_masked=params.get("buyer_logon_id") or None,
        )

    async def _call(
        self, method: str, biz: Mapping[str, str], *, notify: bool = False
    ) -> dict[str, Any]:
        params = {
            "app_id": self._app_id,
            "method": method,
            "format": "JSON",
            "charset": "utf-8",
            "sign_type": "RSA2",
            "timestamp": self._clock.now().astimezone(UTC).strftime(TIME_FORMAT),
            "version": "1.0",
            "biz_content": json.dumps(biz, ensure_ascii=False, separators=(",", ":")),
        }
        if notify and self._notify_url:
            params["notify_url"] = self._notify_url
        params["sign"] = rsa2_sign(self._keys.own, signing_string(params))
        raw = await self._transport.post(GATEWAY, urlencode(params).encode("utf-8"), FORM)
        try:
            answer = json.loads(raw)
            node = answer[method.replace(".", "_") + "_response"]
            signed = rsa2_verify(self._keys.peer, canonical_json(node), answer.get("sign", ""))
        except (ValueError, KeyError, TypeError):
            raise UnverifiedAnswer(f"{method}: the answer is not an Alipay answer") from None
        if not signed:
            raise UnverifiedAnswer(f"{method}: the answer's signature does not verify")
        if not isinstance(node, dict):
            raise UnverifiedAnswer(f"{method}: the answer holds no response object")
        if node.get("code") == BAD_REQUEST:
            raise BadInput(f"{method} refused: {node.get('sub_code')}: {node.get('sub_msg')}")
        return node


def _order_answer(node: dict[str, Any], order_no: str, amount: Money | None) -> WalletAnswer:
    status_text = str(node.get("pospay_status", ""))
    if node.get("code") == PAYING:
        status = WalletStatus.PAYING
    elif status_text in set(WalletStatus):
        status = WalletStatus(status_text)
    elif node.get("code") == FAILURE:
        status = WalletStatus.FAILED
    else:
        status = {"TRADE_SUCCESS": WalletStatus.PAID, "WAIT_BUYER_PAY": WalletStatus.WAITING}.get(
            str(node.get("trade_status")), WalletStatus.CLOSED
        )
    failure = node.get("pospay_failure") or _FAILURES.get(str(node.get("sub_code")))
    total = node.get("total_amount")
    money = read_yuan(total) if isinstance(total, str) else amount or Money(0, "CNY")
    return WalletAnswer(
        Wallet.ALIPAY,
        order_no,
        status,
        money,
        trade_no=node.get("trade_no"),
        payer_masked=node.get("buyer_logon_id"),
        failure=failure,
        reason=str(node.get("sub_msg") or node.get("msg") or ""),
    )


def _refund_answer(node: dict[str, Any], refund_no: str) -> RefundAnswer:
    status = {"REFUND_SUCCESS": "done", "REFUND_CANCELLED": "cancelled"}.get(
        str(node.get("refund_status")), "refused"
    )
    return RefundAnswer(
        refund_no,
        status,
        read_yuan(str(node.get("refund_amount", "0"))),
        str(node.get("sub_msg") or ""),
    )
