"""`python -m triagebot.browser_setup`: exit 0 and print the Chromium path when one is usable."""

from __future__ import annotations

import sys

from triagebot.integrations.chromium import find_chromium
from triagebot.settings import Settings


def main() -> int:
    """Print the Chromium that gates will drive, or explain that none was found."""
    path = find_chromium(Settings().chromium_path)
    if path is None:
        print("no Chromium found (set TRIAGEBOT_CHROMIUM_PATH or install Debian's chromium)", file=sys.stderr)
        return 1
    print(f"chromium: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
