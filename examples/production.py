"""The reference documentation's production settings: HTTPS only, strict same-site, one domain.

The secret comes from the environment, never from the code. Serve it over HTTPS on a host under
example.com (or change ``domain``); a browser refuses this cookie anywhere else::

    SESSION_SECRET_KEY="$(cookie-session generate-secret)" uvicorn examples.production:app
"""

import os

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from cookie_session import SessionMiddleware

app = FastAPI()

app.add_middleware(
    SessionMiddleware,
    secret_key=os.environ["SESSION_SECRET_KEY"],
    session_cookie="fastrapi_session",
    max_age=86400,
    https_only=True,
    same_site="strict",
    domain=".example.com",
)


@app.get("/counter")
def session_counter(request: Request) -> JSONResponse:
    counter = request.session.get("counter", 0) + 1
    request.session["counter"] = counter
    return JSONResponse({"counter": counter})
