"""What the host routes authorisations to: channels (card issuer, wallets, prepaid ledger).

A channel is anything that implements the protocol for its method; the host never
knows whether it is an in-process simulator, a remote service or a real network.
"""

from pospay.channels.card import CardAuthorisation, CardChannel, CardResult
from pospay.channels.routing import OwnChannel, RoutedChannel

__all__ = ["CardAuthorisation", "CardChannel", "CardResult", "OwnChannel", "RoutedChannel"]
