"""``python -m lanterna.cli`` runs the ``lanterna`` command."""

import sys

from lanterna.cli import main

sys.exit(main())
