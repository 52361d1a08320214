"""The reference documentation's browser-session form: ``max_age=None``.

The cookie carries no Max-Age or Expires, so the browser forgets it when it closes, and the
server applies no age limit of its own. Run it with ``uvicorn examples.browser_session:app``.
"""

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from cookie_session import SessionMiddleware

app = FastAPI()

app.add_middleware(
    SessionMiddleware,
    # The documentation's placeholder: generate a real secret with `cookie-session generate-secret`.
    secret_key="your-secret-key-min-32-characters-long",
    session_cookie="fastrapi_session",
    max_age=None,
)


@app.get("/counter")
def session_counter(request: Request) -> JSONResponse:
    counter = request.session.get("counter", 0) + 1
    request.session["counter"] = counter
    return JSONResponse({"counter": counter})
