"""Bringing a database to the schema a component needs, through Alembic.

Each component keeps its revisions in its own folder (``pospay/<component>/migrations``)
as an Alembic branch labelled with the component's name, so `migrate(engine, "host")`
creates or upgrades the host's tables and nothing else.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

Component = Literal["host", "issuer", "terminal", "prepaid", "wallets"]
# The prepaid programme's tables live in the host's database: the host is their issuer.
COMPONENTS: tuple[Component, ...] = ("host", "issuer", "terminal", "prepaid", "wallets")
# What each party's database holds when every party has its own.
DATABASES: dict[str, tuple[Component, ...]] = {
    "host": ("host", "prepaid"),
    "issuer": ("issuer",),
    "terminal": ("terminal",),
    "wallets": ("wallets",),
}

_PACKAGE = Path(__file__).resolve().parent.parent


def alembic_config(engine: Engine) -> Config:
    """An Alembic configuration over every component's revisions, bound to `engine`."""
    config = Config()
    config.set_main_option("script_location", str(_PACKAGE / "storage" / "migrations"))
    locations = " ".join(str(_PACKAGE / name / "migrations") for name in COMPONENTS)
    config.set_main_option("version_locations", locations)
    config.set_main_option("path_separator", "space")
    config.attributes["engine"] = engine
    return config


def migrate(engine: Engine, *components: Component) -> None:
    """Upgrade `engine`'s database to the newest schema of each of `components`."""
    config = alembic_config(engine)
    for component in components:
        command.upgrade(config, f"{component}@head")
