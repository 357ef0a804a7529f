"""Daphne for production: `python -m simcoach_site.serve` takes exactly Daphne's arguments.

The one difference is the access log: Daphne writes every request path to it as it came, share
tokens and invite codes included. Here each entry's path goes through url_redacted() first.
(Daphne's own `--proxy-headers` is not used in the deployment: it believes the first address of
X-Forwarded-For, which the client writes; simcoach_site.lib.client reads the trusted end.)
"""

from __future__ import annotations

from typing import Any

from daphne.cli import CommandLineInterface
from daphne.server import Server

from simcoach_site.lib.redact import url_redacted

ActionLogger = Any  # Daphne's interface: a callable (protocol, action, details) -> None


class RedactingActionLogger:
    def __init__(self, inner: ActionLogger) -> None:
        self.inner = inner

    def __call__(self, protocol: str, action: str, details: dict[str, Any]) -> None:
        if isinstance(details.get("path"), str):
            details = {**details, "path": url_redacted(details["path"])}
        self.inner(protocol, action, details)


class RedactingServer(Server):  # type: ignore[misc]
    def __init__(self, *args: Any, action_logger: ActionLogger = None, **kwargs: Any) -> None:
        logger = RedactingActionLogger(action_logger) if action_logger is not None else None
        super().__init__(*args, action_logger=logger, **kwargs)


class RedactingCommandLineInterface(CommandLineInterface):  # type: ignore[misc]
    server_class = RedactingServer


if __name__ == "__main__":
    RedactingCommandLineInterface.entrypoint()
