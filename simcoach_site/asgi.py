"""ASGI entry point: HTTP through Django, WebSockets through Channels.

The rig socket authenticates with a bearer token (no cookies, no Origin: it is not a browser);
viewer sockets use the browser session and must come from an allowed Origin.
"""

import gc
import os
import sys
from typing import Any

# simcoach_agent (the channel model) is an installed package, not a path: see manage.py.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "simcoach_site.settings")

from django.core.asgi import get_asgi_application  # noqa: E402

django_asgi_app = get_asgi_application()

from django.conf import settings  # noqa: E402

# The ingest threads plan each store tick and run its SQL holding the GIL (and built its line
# protocol so too, before native/); at Python's default 5 ms switch interval the event loop, and
# with it every socket, waited that long for them (bench/RESULTS.md has what it cost viewers).
sys.setswitchinterval(settings.GIL_SWITCH_INTERVAL_S)

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from apps.accounts.middleware import RigTokenAuthMiddleware  # noqa: E402
from apps.telemetry import routing  # noqa: E402
from simcoach_site.origins import BrowserOriginValidator  # noqa: E402
from simcoach_site.prefix import StripPrefixMiddleware  # noqa: E402

rig_sockets = RigTokenAuthMiddleware(URLRouter(routing.rig_urlpatterns))
browser_sockets = BrowserOriginValidator(AuthMiddlewareStack(URLRouter(routing.viewer_urlpatterns)))


async def websocket(scope: dict[str, Any], receive: Any, send: Any) -> Any:
    # The agent is not a browser (no Origin, no cookies): it gets its own auth and no origin check.
    path = scope["path"][len(scope.get("root_path", "")) :]
    app = rig_sockets if path == "/ws/rig/" else browser_sockets
    return await app(scope, receive, send)


application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": StripPrefixMiddleware(websocket),
    }
)

# Everything imported so far lives as long as the process: out of the collector's sight, a full
# collection no longer walks Django's objects while every socket waits for it (bench/RESULTS.md).
gc.freeze()
# A young collection walks everything alive that is young: with many sockets, thousands of
# futures, coroutines and batches in flight. At the default threshold (700 allocations) that
# ran several times a second, and one collection in ten also walked the middle generation
# (bench/RESULTS.md). What the sockets allocate is freed by reference counting; only cycles
# wait for the collector, and 10 000 allocations of them cost little memory.
gc.set_threshold(10_000, 10, 10)
