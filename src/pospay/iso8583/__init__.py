"""The terminal-host link: ISO 8583 messages in 2-byte length-prefixed frames over TCP.

`SPEC` is the pyiso8583 layout; ``docs/iso8583.md`` documents each message.
"""

from pospay.iso8583.codec import Message, Received, decode, encode
from pospay.iso8583.framing import MAX_FRAME, frame, read_frame, write_frame
from pospay.iso8583.response_codes import RESPONSE_CODES, ResponseCode, describe
from pospay.iso8583.spec import SPEC

__all__ = [
    "MAX_FRAME",
    "RESPONSE_CODES",
    "SPEC",
    "Message",
    "Received",
    "ResponseCode",
    "decode",
    "describe",
    "encode",
    "frame",
    "read_frame",
    "write_frame",
]
