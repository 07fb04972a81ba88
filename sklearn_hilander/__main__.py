"""``python -m sklearn_hilander``: see :mod:`sklearn_hilander._cli`."""

import sys

from ._cli import main

sys.exit(main())
