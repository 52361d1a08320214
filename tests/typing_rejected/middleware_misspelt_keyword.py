"""mypy must reject this: the setting is ``same_site``; ``samesite`` would otherwise be lost."""

from fastapi import FastAPI

from cookie_session import SessionMiddleware

app = FastAPI()
SECRET = "your-secret-key-min-32-characters-long"
app.add_middleware(SessionMiddleware, secret_key=SECRET, samesite="strict")  # mistake
