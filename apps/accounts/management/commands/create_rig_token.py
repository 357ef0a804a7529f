from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.accounts.services import rig_create


class Command(BaseCommand):
    help = "Issue a rig token for USER (printed once; only its hash is stored)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="Rig", help="rig name shown on the site")

    def handle(self, *args: Any, username: str, name: str, **options: Any) -> None:
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"no user named {username!r}")
        rig, token = rig_create(owner=user, name=name)
        self.stdout.write(token)
        self.stderr.write(f"rig {rig.pk} ({rig.name}) for {username}; the token is not shown again")
