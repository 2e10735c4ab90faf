"""Entry point: `gunicorn app:app`, `flask --app app run`."""
from server import create_app

app = create_app()
