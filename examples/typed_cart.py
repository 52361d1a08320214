"""A shopping cart kept in a typed session: a pydantic model that mypy and pydantic both check.

Run it with ``uvicorn examples.typed_cart:app`` and try::

    curl -b jar -c jar -X POST http://127.0.0.1:8000/cart/items \\
         -H 'content-type: application/json' -d '{"sku": "tea", "quantity": 2}'
    curl -b jar -c jar -X PUT 'http://127.0.0.1:8000/cart/coupon?code=WELCOME'
    curl -b jar -c jar http://127.0.0.1:8000/cart

See docs/typed-sessions.md.
"""

from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cookie_session import SessionMiddleware, TypedSession


class Item(BaseModel):
    model_config = ConfigDict(validate_assignment=True)

    sku: str = Field(min_length=1, max_length=40)
    quantity: int = Field(default=1, ge=1, le=99)


class CartSession(BaseModel):
    """What this application keeps in the session under "cart"."""

    # A wrong value fails where it is assigned, in the handler, not when the response is sent.
    model_config = ConfigDict(validate_assignment=True)

    items: list[Item] = []
    coupon: str | None = Field(default=None, pattern=r"^[A-Z0-9]{4,12}$")


cart_session = TypedSession(CartSession, key="cart")
Cart = Annotated[CartSession, Depends(cart_session)]

app = FastAPI()
app.add_middleware(
    SessionMiddleware,
    # The documentation's placeholder: generate a real secret with `cookie-session generate-secret`.
    secret_key="your-secret-key-min-32-characters-long",
    max_age=3600,
)


@app.get("/cart")
def show_cart(cart: Cart) -> CartSession:
    return cart


@app.post("/cart/items")
def add_item(item: Item, cart: Cart) -> CartSession:
    for line in cart.items:
        if line.sku == item.sku:
            line.quantity = min(line.quantity + item.quantity, 99)  # in place: saved all the same
            break
    else:
        cart.items.append(item)
    return cart


@app.put("/cart/coupon")
def apply_coupon(code: str, cart: Cart) -> CartSession:
    try:
        cart.coupon = code  # validated here: "welcome!" raises ValidationError
    except ValidationError as error:
        raise HTTPException(status_code=422, detail="not a coupon code") from error
    return cart


@app.delete("/cart")
def empty_cart(cart: Cart) -> CartSession:
    cart.items = []
    cart.coupon = None
    return cart


@app.get("/visits")
def count_visits(request: Request) -> dict[str, int]:
    """The plain dict session still works beside the typed one."""
    visits: int = request.session.get("visits", 0) + 1
    request.session["visits"] = visits
    return {"visits": visits}
