"""The reference documentation's production settings: HTTPS only, strict same-site, one domain.

The secret comes from the deployment (``SESSION_SECRET_KEY`` in the environment, a ``.env`` file
or a secrets directory), never from the code, and the configuration is built when the module is
imported: a missing or weak secret stops the server before it starts, with a
``pydantic.ValidationError`` naming the variable. Serve it over HTTPS on a host under example.com
(or change ``domain``); a browser refuses this cookie anywhere else::

    SESSION_SECRET_KEY="$(cookie-session generate-secret)" uvicorn examples.production:app
"""

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from cookie_session import SessionConfig, SessionMiddleware

app = FastAPI()

app.add_middleware(
    SessionMiddleware,
    config=SessionConfig.from_env(
        session_cookie="fastrapi_session",
        max_age=86400,
        https_only=True,
        same_site="strict",
        domain=".example.com",
    ),
)


@app.get("/counter")
def session_counter(request: Request) -> JSONResponse:
    counter = request.session.get("counter", 0) + 1
    request.session["counter"] = counter
    return JSONResponse({"counter": counter})
