"""The terminal engine: runs transactions against the host and keeps its own journal."""

from pospay.terminal.card_read import CardRead
from pospay.terminal.config import TerminalConfig
from pospay.terminal.engine import Terminal
from pospay.terminal.link import HostLink, TcpHostLink
from pospay.terminal.outcome import Outcome

__all__ = ["CardRead", "HostLink", "Outcome", "TcpHostLink", "Terminal", "TerminalConfig"]
