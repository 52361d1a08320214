"""mypy must reject this: the cart's items are ``Item`` models, not strings.

An in-place change is not validated until the response starts; mypy catches it at once.
"""

from examples.typed_cart import Cart


def add_tea(cart: Cart) -> None:
    cart.items.append("tea")  # mistake
