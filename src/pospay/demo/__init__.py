"""The demo: a short trading day on one terminal against the embedded host and issuer."""

from pospay.demo.run import DemoResult, run_demo
from pospay.demo.trading_day import PlannedAttempt, plan_trading_day

__all__ = ["DemoResult", "PlannedAttempt", "plan_trading_day", "run_demo"]
