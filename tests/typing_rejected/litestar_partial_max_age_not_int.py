"""mypy must reject this: ``max_age`` is a number of seconds or None, not a string."""

from functools import partial

from litestar import Litestar

from cookie_session import SessionMiddleware

SECRET = "your-secret-key-min-32-characters-long"
middleware = partial(SessionMiddleware, secret_key=SECRET, max_age="3600")  # mistake
app = Litestar(middleware=[middleware])
