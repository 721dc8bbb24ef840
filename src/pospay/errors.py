"""Every error pospay raises on purpose, as one tree.

Callers catch the branch they can act on; each error carries what is needed to act.

    PospayError
    ├── BadInput                  input from outside is wrong; nothing was changed
    │   ├── MessageFormatError    an ISO 8583 frame or message cannot be used (.field, .pos)
    │   ├── InvalidCard           the PAN fails Luhn, is unknown, or is malformed
    │   ├── InvalidAmount         zero, negative, too large, or the wrong currency
    │   ├── UnknownAccount        a ledger posting names an account that was never opened
    │   ├── OriginalNotFound      a void, refund, completion or cancel names no attempt here
    │   ├── NotAuthorised         the operator may not do this kind (.kind, .role needed)
    │   ├── NothingToReprint      a reprint was asked for before any receipt or slip existed
    │   ├── KeyCheckFailed        a working key from sign-in fails its key check value
    │   └── ConfigurationError    a command's set-up cannot be used; nothing was started
    │       ├── DatabaseUnusable  a database URL or file cannot be opened (.url, no password)
    │       ├── CannotListen      a port to serve on is taken or not allowed (.service, .port)
    │       ├── BadHostKeys       the host's key file is missing, malformed or holds test keys
    │       └── KeyFileUnusable   a key kept in the data directory cannot be read or is damaged
    ├── IllegalTransition         the transaction state machine refused an event
    ├── Declined                  an authority answered with a non-approval response code
    │   └── InsufficientFunds     a posting would take a ledger balance below zero (51)
    ├── OutcomeUnknown            the request may or may not have been acted on (timeout, drop)
    │   ├── MacFailure            an answer came, but its MAC does not verify: not to be used
    │   └── AnswerLost            a channel's answer will never come (a TimeoutError too)
    ├── LinkError                 the terminal-host link failed before a request was sent
    ├── StorageError              the journal could not make a record durable
    ├── PrinterFault              the printer could not print (paper out, offline, ...)
    └── FontMissing               the CJK font for rendering receipts is not installed

`OutcomeUnknown` is the error that matters most: the caller must not assume either
outcome, and must resolve it (reversal or status query) before the attempt is final.
"""

from __future__ import annotations


class PospayError(Exception):
    """Base of every deliberate pospay error."""


class BadInput(PospayError):
    """Input from outside was rejected; no state was changed."""


class MessageFormatError(BadInput):
    """An ISO 8583 frame or message could not be used.

    `field` names the data element at fault ("t" for the MTI, "p" for the bitmap,
    "frame" for the length header) and `pos` the byte offset, where known.
    `partial` holds the fields that were decoded before the fault, so that an error
    response can still echo the MTI, STAN and terminal id.
    """

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        pos: int | None = None,
        partial: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.field = field
        self.pos = pos
        self.partial: dict[str, str] = dict(partial or {})


class InvalidCard(BadInput):
    """The card number is malformed, fails Luhn, or is not known."""


class InvalidAmount(BadInput):
    """The amount is not a positive integer count of minor units in a known currency."""


class UnknownAccount(BadInput):
    """A ledger posting names an account that does not exist; nothing was posted."""

    def __init__(self, account_id: str) -> None:
        super().__init__(f"no ledger account {account_id!r}")
        self.account_id = account_id


class OriginalNotFound(BadInput):
    """The terminal's journal holds no `kind` attempt under `reference` (a voucher number
    or an RRN) to void, refund, complete or cancel; nothing was recorded or sent."""

    def __init__(self, kind: str, reference: str) -> None:
        super().__init__(f"no {kind} with voucher or RRN {reference!r} in this terminal's journal")
        self.kind = kind
        self.reference = reference


class NotAuthorised(BadInput):
    """The operator, or the supervisor who must authorise, is not allowed to do `kind`.

    `role` names the role that is needed (``supervisor``, ``admin``); nothing was
    recorded or sent.
    """

    def __init__(self, kind: str, role: str, reason: str) -> None:
        super().__init__(f"{kind} needs a {role}: {reason}")
        self.kind = kind
        self.role = role


class NothingToReprint(BadInput):
    """A reprint of the last receipt or settlement slip was asked for, and the terminal
    has none (`what`: ``receipt`` or ``settlement slip``); nothing was printed."""

    def __init__(self, what: str) -> None:
        super().__init__(f"no {what} to reprint on this terminal")
        self.what = what


class KeyCheckFailed(BadInput):
    """A working key received at sign-in does not match its key check value; the
    terminal keeps its previous keys and is not signed in."""


class ConfigurationError(BadInput):
    """What a command was given to run with (a database, a port, a key file) cannot be
    used. Nothing was started or changed; the message names the fault and what to do,
    in one line, and `pospay` exits 2 with it."""


class DatabaseUnusable(ConfigurationError):
    """The database at `url` (its password hidden) cannot be opened: no driver for its
    scheme, no server answering, or a file that is not a sound SQLite database."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"database {url}: {reason}")
        self.url = url
        self.reason = reason


class CannotListen(ConfigurationError):
    """`service` (e.g. "ISO 8583", "printer control") cannot listen on `host`:`port`."""

    def __init__(self, service: str, host: str, port: int, reason: str) -> None:
        super().__init__(f"cannot listen for {service} on {host}:{port}: {reason}")
        self.service = service
        self.host = host
        self.port = port


class BadHostKeys(ConfigurationError):
    """The host's keys (a key file, `POSPAY_HOST_KEYS`) are missing, malformed, fail a
    check (length, parity, KCV), or are the documented test keys without `--test-keys`."""


class KeyFileUnusable(ConfigurationError):
    """A key the data directory keeps (`runtime.keys`: PAN references, the KEK of the
    embedded set-up, a receipt signing key) cannot be read, or is not a key: its file was
    cut short, overwritten or replaced. Nothing is made anew over it: a new key would orphan
    what the old one protects."""


class IllegalTransition(PospayError):
    """The transaction life cycle does not allow this event in this state."""

    def __init__(self, state: str, event: str) -> None:
        super().__init__(f"event {event!r} is not allowed in state {state!r}")
        self.state = state
        self.event = event


class Declined(PospayError):
    """An authority answered with a response code other than approval."""

    def __init__(self, response_code: str, message: str) -> None:
        super().__init__(f"{response_code}: {message}")
        self.response_code = response_code


class InsufficientFunds(Declined):
    """A posting would take `account_id` below zero; the whole entry was not posted.

    `available` is the balance in minor units when the posting was refused.
    """

    def __init__(self, account_id: str, amount_minor: int, available: int) -> None:
        super().__init__("51", f"account {account_id!r} has {available}, needs {amount_minor}")
        self.account_id = account_id
        self.amount_minor = amount_minor
        self.available = available


class OutcomeUnknown(PospayError):
    """The request may have been acted on; the outcome must be resolved, never assumed."""


class MacFailure(OutcomeUnknown):
    """A response arrived whose MAC (field 64) is missing or wrong. The request may have
    been acted on, so the attempt is resolved by a reversal, never assumed either way."""


class AnswerLost(OutcomeUnknown, TimeoutError):
    """A channel knows its answer to a request will never reach the caller, who must treat
    the request exactly as one whose answer did not come in time: it is a `TimeoutError`,
    so the wait that catches the one catches the other. The issuer simulator raises it
    for its magic amount 666.91, after acting on the sale (`docs/test-cards.md`)."""


class LinkError(PospayError):
    """The link to the host could not be used; nothing was sent."""


class StorageError(PospayError):
    """A record could not be made durable; nothing was acknowledged."""


class PrinterFault(PospayError):
    """The printer could not print. `reason` is one of: paper_out, jam, offline,
    cover_open, and for a printer on the network unreachable, timeout, bad_status (its
    answer to DLE EOT is not a status byte)."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"printer fault: {reason}")
        self.reason = reason


class FontMissing(PospayError):
    """Rendering a receipt as an image needs a CJK font that is not installed; `package`
    names the PyPI package that provides it."""

    def __init__(self, package: str, face: str) -> None:
        super().__init__(f"the font {face!r} is missing: install it with `pip install {package}`")
        self.package = package
        self.face = face
