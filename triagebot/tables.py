"""The table registry: every module that declares tables, so SQLModel.metadata knows them all.

It sits above the models and `db` (which knows engines and sessions, never tables), so no model and
no adapter that owns a table needs to import it back.
"""

from __future__ import annotations

from sqlmodel import SQLModel

from triagebot.backfill import models as _backfill  # noqa: F401
from triagebot.db import make_engine
from triagebot.flags import models as _flags  # noqa: F401
from triagebot.gates import tables as _gates  # noqa: F401
from triagebot.integrations import localchat as _localchat  # noqa: F401
from triagebot.integrations import localrepo as _localrepo  # noqa: F401
from triagebot.jobs import models as _jobs  # noqa: F401
from triagebot.outbox import models as _outbox  # noqa: F401
from triagebot.triage import models as _triage  # noqa: F401

metadata = SQLModel.metadata


def create_schema(url: str) -> None:
    """Create every table straight from the models (tests; migrations are checked against this)."""
    engine = make_engine(url)
    metadata.create_all(engine)
    engine.dispose()
