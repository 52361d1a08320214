"""mypy must reject this: ``same_site`` is one of "lax", "strict" and "none"."""

from fastapi import FastAPI

from cookie_session import SessionMiddleware

app = FastAPI()
SECRET = "your-secret-key-min-32-characters-long"
app.add_middleware(SessionMiddleware, secret_key=SECRET, same_site="bogus")  # mistake
