"""``python -m flows.cli ...``: the same as ``lstm-pipeline ...``."""

import sys

from flows.cli.main import main

sys.exit(main())
