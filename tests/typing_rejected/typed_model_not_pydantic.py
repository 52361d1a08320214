"""mypy must reject this: a typed session's model is a pydantic model, not a plain dict."""

from cookie_session import TypedSession

cart_session = TypedSession(dict, key="cart")  # mistake
