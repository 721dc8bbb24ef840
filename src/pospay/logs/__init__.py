"""pospay's logs: what every log record passes through before anyone can read it."""

from pospay.logs.card_numbers import install, installed, mask_card_numbers

__all__ = ["install", "installed", "mask_card_numbers"]
