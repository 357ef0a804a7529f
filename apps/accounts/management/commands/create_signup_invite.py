import datetime as dt
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.accounts.services import INVITE_DEFAULT_DAYS, signup_invite_create


class Command(BaseCommand):
    help = "Create a sign-up invite (for SIGNUP=invite); prints its token once (only its hash is stored)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=INVITE_DEFAULT_DAYS, help="days until it expires")
        parser.add_argument("--note", default="", help="who it is for (shown in the admin)")
        parser.add_argument("--url", default="", help="the site's base URL, to print a whole link")

    def handle(self, *args: Any, days: int, note: str, url: str, **options: Any) -> None:
        if days < 1:
            raise CommandError("--days must be 1 or more")
        invite, token = signup_invite_create(created_by=None, expires_in=dt.timedelta(days=days), note=note)
        self.stdout.write(f"{url.rstrip('/')}/accounts/signup/?invite={token}" if url else token)
        state = "" if settings.SIGNUP == "invite" else f" (note: SIGNUP is {settings.SIGNUP!r}, not 'invite')"
        self.stderr.write(f"invite {invite.pk} expires {invite.expires_at:%Y-%m-%d %H:%M} UTC{state}")
