"""``python -m lanterna``: the ``lanterna`` command, also where scripts are not on PATH."""

import sys

from lanterna.cli import main

sys.exit(main())
