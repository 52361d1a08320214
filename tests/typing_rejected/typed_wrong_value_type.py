"""mypy must reject this: a coupon is a string, and the FastAPI dependency gives a CartSession."""

from examples.typed_cart import Cart


def apply_coupon(cart: Cart) -> None:
    cart.coupon = 20  # mistake
