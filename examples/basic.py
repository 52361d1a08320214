"""The reference documentation's session example, unchanged but for the import.

Run it with ``uvicorn examples.basic:app`` and open http://127.0.0.1:8000/counter a few times.
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
    max_age=3600,
    https_only=False,
)


@app.get("/counter")
def session_counter(request: Request) -> JSONResponse:
    counter = request.session.get("counter", 0) + 1
    request.session["counter"] = counter
    return JSONResponse({"counter": counter})
