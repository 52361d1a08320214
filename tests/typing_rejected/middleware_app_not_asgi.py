"""mypy must reject this: an ASGI application is an async callable, whatever its framework."""

from cookie_session import SessionMiddleware


def application(scope: object, receive: object, send: object) -> None:
    """Synchronous: the middleware would await what it returns."""


SECRET = "your-secret-key-min-32-characters-long"
middleware = SessionMiddleware(application, secret_key=SECRET)  # mistake
