"""Every flow's tables in the schema these tests build (the coverage queries read them all)."""

from triagebot.backfill import models as _backfill  # noqa: F401
from triagebot.flags import models as _flags  # noqa: F401
from triagebot.gates import tables as _gates  # noqa: F401
