"""gunicorn settings from config.toml / CVAT_* (port and number of workers)."""
import settings as _settings

_s = _settings.load()
bind = f"0.0.0.0:{_s.port}"
workers = max(2, _s.web_workers)
timeout = 300
accesslog = "-"
# gunicorn 27's control socket lives at one path per user: several stacks on one
# machine (tests, make run) would fight over it, and nothing here uses it.
control_socket_disable = True
