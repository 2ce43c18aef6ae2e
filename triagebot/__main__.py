"""`python -m triagebot` is the `triagebot` command."""

import sys

from triagebot.cli import main

sys.exit(main())
