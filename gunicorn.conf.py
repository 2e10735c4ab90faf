"""gunicorn settings from config.toml / CVAT_* (port and number of workers)."""
import settings as _settings

_s = _settings.load()
bind = f"0.0.0.0:{_s.port}"
workers = max(2, _s.web_workers)
timeout = 300
accesslog = "-"
