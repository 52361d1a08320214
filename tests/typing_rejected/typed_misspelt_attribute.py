"""mypy must reject this: ``load`` gives a CartSession, whose field is ``coupon``."""

from examples.typed_cart import cart_session
from starlette.requests import Request


def apply_coupon(request: Request) -> None:
    cart_session.load(request).copuon = "WELCOME"  # mistake
