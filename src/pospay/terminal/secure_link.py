"""The MAC layer of the terminal's link: a `HostLink` around the engine's link.

Every request except network management (08xx) leaves with field 64 under the MAC key
of the last sign-in, and every response to one must carry a valid field 64, or the
exchange raises `MacFailure` (an `OutcomeUnknown`: the host may have acted, so the
engine reverses the attempt, reason A0). Before the first sign-in there is no key:
requests go without a MAC and only a decline can be taken from the answer (the host
declines such a terminal 58); an approval without a verifiable MAC is a `MacFailure`.

Keys can fall out of step with the host's (a sign-in the host answered twice, or whose
answer was lost after the host changed keys): then the host refuses every MAC (A0,
itself without a MAC) and every response fails its check. After any `MacFailure` the
link says so (`keys_rejected`), and the engine signs in again before it sends anything
else; the flag clears when the keys of a sign-in are installed.
"""

from __future__ import annotations

from pospay.errors import MacFailure
from pospay.iso8583 import Message
from pospay.security.keys import WorkingKeys
from pospay.security.mac import mac_valid, needs_mac, with_mac
from pospay.terminal.link import HostLink


class MacLink:
    def __init__(self, inner: HostLink) -> None:
        self._inner = inner
        self._keys: WorkingKeys | None = None
        self.keys_rejected = False

    @property
    def keys(self) -> WorkingKeys | None:
        return self._keys

    @keys.setter
    def keys(self, keys: WorkingKeys | None) -> None:
        self._keys = keys
        self.keys_rejected = False

    async def exchange(self, request: Message, *, timeout: float) -> Message:
        if not needs_mac(request["t"]):
            return await self._inner.exchange(request, timeout=timeout)
        keys = self.keys
        if keys is not None:
            request = with_mac(request, keys.mac_key)
        response = await self._inner.exchange(request, timeout=timeout)
        if keys is None:
            if response.get("39") == "00":
                self.keys_rejected = True
                raise MacFailure("an approval came without a MAC the terminal can check")
            return response
        if not mac_valid(response, keys.mac_key):
            self.keys_rejected = True
            raise MacFailure(
                f"response {response.get('t')} to STAN {request.get('11')} fails its MAC check"
            )
        return response

    async def close(self) -> None:
        await self._inner.close()
