"""``python -m cookie_session``: the ``cookie-session`` command."""

import sys

from cookie_session.cli import main

if __name__ == "__main__":
    sys.exit(main())
