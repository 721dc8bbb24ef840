"""Composition: the parts wired together into running services (the only place that does)."""

from pospay.runtime.host_node import HostNode
from pospay.runtime.keys import load_or_create_key
from pospay.runtime.terminal_node import TerminalNode

__all__ = ["HostNode", "TerminalNode", "load_or_create_key"]
