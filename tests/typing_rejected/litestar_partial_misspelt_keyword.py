"""mypy must reject this: the setting is ``same_site``; ``samesite`` would fail at start-up."""

from functools import partial

from litestar import Litestar

from cookie_session import SessionMiddleware

SECRET = "your-secret-key-min-32-characters-long"
middleware = partial(SessionMiddleware, secret_key=SECRET, samesite="strict")  # mistake
app = Litestar(middleware=[middleware])
