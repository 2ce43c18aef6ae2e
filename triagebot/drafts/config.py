"""The app repo's `.triagebot/config.yml`: where rendered tests go, their language, the test-id attribute.

```yaml
drafts:
  format: ts                 # ts (@playwright/test) or python (pytest-playwright)
  dir: e2e/regressions       # repo-relative folder for rendered tests
  test_id_attribute: data-testid
```
Other sections belong to other features and are ignored here.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from triagebot.errors import BadInput

CONFIG_PATH = ".triagebot/config.yml"
SPEC_DIR = ".triagebot/tests"

Format = Literal["ts", "python"]


class DraftConfig(BaseModel):
    """How drafts are laid out in the app repository."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    format: Format = "ts"
    dir: str = "e2e/regressions"
    test_id_attribute: str = Field(default="data-testid", pattern=r"^[A-Za-z_][A-Za-z0-9_.:-]*$")

    @field_validator("dir")
    @classmethod
    def _inside_repo(cls, value: str) -> str:
        path = PurePosixPath(value)
        if path.is_absolute() or ".." in path.parts or "\\" in value or not value.strip():
            raise ValueError("must be a folder inside the repository, such as e2e/regressions")
        return str(path)


def load_config(repo_root: Path | None) -> DraftConfig:
    """Read the `drafts` section of `.triagebot/config.yml` under the repo root; defaults if absent."""
    if repo_root is None:
        return DraftConfig()
    path = repo_root / CONFIG_PATH
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return DraftConfig()
    except OSError as exc:
        raise BadInput(f"{path}: cannot be read: {exc.strerror}") from None
    return parse_config(text, source=str(path))


def parse_config(text: str | None, *, source: str = CONFIG_PATH) -> DraftConfig:
    """Read the `drafts` section of a config file's text (defaults when absent); errors name `source`."""
    if text is None:
        return DraftConfig()
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise BadInput(f"{source}: cannot be read as YAML: {exc}") from None
    section = data.get("drafts") if isinstance(data, dict) else None
    if section is None:
        return DraftConfig()
    if not isinstance(section, dict):
        raise BadInput(f"{source}: drafts: must be a mapping")
    try:
        return DraftConfig.model_validate(section)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in ("drafts", *first["loc"]))
        raise BadInput(f"{source}: {field}: {first['msg']}") from None
