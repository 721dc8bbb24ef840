"""ISO 8583 response codes (field 39): one table, used by host, terminal and docs.

Each code carries its meaning and the operator message in Chinese and English.
`docs/iso8583.md` and `docs/test-cards.md` are written from this table.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ResponseCode:
    code: str
    meaning: str
    operator_zh: str
    operator_en: str

    @property
    def approved(self) -> bool:
        return self.code == APPROVED


APPROVED = "00"
# The host settled the batch in field 60 already: the terminal must settle again.
BATCH_SETTLED = "77"
# The terminal is not signed in (the host refused the request and recorded nothing).
NOT_SIGNED_IN = "58"

_TABLE = [
    ResponseCode("00", "Approved", "交易成功", "Approved"),
    ResponseCode("03", "Invalid merchant", "无效商户", "Invalid merchant"),
    ResponseCode("05", "Do not honour", "不予承兑", "Do not honour"),
    ResponseCode(
        "06",
        "Error (reversal: terminal restarted with the attempt in flight)",
        "出错",
        "Error",
    ),
    ResponseCode("09", "Request in progress", "交易处理中", "Request in progress"),
    ResponseCode("12", "Invalid transaction", "无效交易", "Invalid transaction"),
    ResponseCode("13", "Invalid amount", "无效金额", "Invalid amount"),
    ResponseCode("14", "Invalid card number", "无效卡号", "Invalid card number"),
    ResponseCode("25", "Original transaction not found", "找不到原始交易", "Original not found"),
    ResponseCode("30", "Format error", "报文格式错误", "Format error"),
    ResponseCode("51", "Insufficient funds", "余额不足", "Insufficient funds"),
    ResponseCode("54", "Expired card", "过期卡", "Expired card"),
    ResponseCode("55", "Incorrect PIN", "密码错误", "Incorrect PIN"),
    ResponseCode(
        "57",
        "Transaction not permitted to cardholder",
        "不允许持卡人进行的交易",
        "Not permitted for card",
    ),
    ResponseCode(
        "58",
        "Transaction not permitted to terminal",
        "不允许终端进行的交易",
        "Not permitted for terminal",
    ),
    ResponseCode("61", "Exceeds withdrawal amount limit", "超出金额限制", "Exceeds amount limit"),
    ResponseCode("62", "Restricted card", "受限制的卡", "Restricted card"),
    ResponseCode("75", "PIN tries exceeded", "密码错误次数超限", "PIN tries exceeded"),
    ResponseCode(
        "77",
        "Batch already settled by the host: settle the terminal again",
        "批次已结算，请重新结算",
        "Batch settled, settle again",
    ),
    ResponseCode("91", "Issuer or switch inoperative", "发卡方不能操作", "Issuer unavailable"),
    ResponseCode("94", "Duplicate transmission", "重复交易", "Duplicate transmission"),
    ResponseCode(
        "95",
        "Reconcile error: settlement totals differ, upload the batch",
        "对账不平，请批上送",
        "Totals differ, batch upload",
    ),
    ResponseCode("96", "System malfunction", "系统故障", "System malfunction"),
    ResponseCode(
        "98", "Reversal: no response received", "交易超时，已冲正", "No response, reversed"
    ),
    ResponseCode("A0", "MAC verification failed", "MAC校验错", "MAC error, sign in again"),
    ResponseCode(
        "A1",
        "Reversal: issuer authentication (ARPC) failed",
        "发卡行认证失败，已冲正",
        "Issuer auth failed, reversed",
    ),
]

RESPONSE_CODES: dict[str, ResponseCode] = {entry.code: entry for entry in _TABLE}


def describe(code: str) -> ResponseCode:
    """The table entry for `code`; an unknown code is reported as such, never guessed."""
    return RESPONSE_CODES.get(code) or ResponseCode(
        code, "Unknown response code", "未知应答码", "Unknown response"
    )
