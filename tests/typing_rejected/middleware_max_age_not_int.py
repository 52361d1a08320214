"""mypy must reject this: ``max_age`` is a number of seconds or None, not a string."""

from fastapi import FastAPI

from cookie_session import SessionMiddleware

app = FastAPI()
SECRET = "your-secret-key-min-32-characters-long"
app.add_middleware(SessionMiddleware, secret_key=SECRET, max_age="x")  # mistake
