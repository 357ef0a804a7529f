"""Forms of the team pages and the leaderboard filter: parse input, nothing more."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms

from apps.sessions.models import Session

from .models import Role
from .selectors import PERIODS, LeaderboardQuery

INVITE_ROLES = [(r.value, r.label) for r in (Role.DRIVER, Role.COACH, Role.MANAGER)]
INVITE_EXPIRIES = {"1d": dt.timedelta(days=1), "7d": dt.timedelta(days=7), "30d": dt.timedelta(days=30)}


class TeamCreateForm(forms.Form):
    name = forms.CharField(max_length=80)


class InviteForm(forms.Form):
    username = forms.CharField(
        max_length=150, required=False, help_text="Leave empty for a link anyone holding it can join by"
    )
    role = forms.ChoiceField(choices=INVITE_ROLES, initial=Role.DRIVER)
    expiry = forms.ChoiceField(
        choices=[(k, k) for k in INVITE_EXPIRIES],
        initial="7d",
        help_text="Links only; a username invitation lasts 30 days",
    )


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=INVITE_ROLES)


class LeaderboardForm(forms.Form):
    """`?track=&car=|class=&scope=site|<team id>&game=&period=&kind=`."""

    track = forms.TypedChoiceField(coerce=int, required=False)
    car = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)
    car_class = forms.ChoiceField(required=False, label="or class")
    scope = forms.ChoiceField(required=False)
    game = forms.CharField(max_length=16, required=False)
    period = forms.ChoiceField(choices=[(p, p) for p in PERIODS], initial="all", required=False)
    kind = forms.ChoiceField(choices=[("", "any"), *Session.Kind.choices], required=False)

    def __init__(self, *args: Any, choices: dict[str, list[tuple[Any, str]]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        fields: dict[str, Any] = self.fields
        fields["track"].choices = [("", "choose a track"), *choices["track"]]
        fields["car"].choices = [("", "any car of the class"), *choices["car"]]
        fields["car_class"].choices = [("", "—"), *choices["car_class"]]
        fields["scope"].choices = choices["scope"]

    def query(self) -> LeaderboardQuery | None:
        """The board asked for, or None until a track and a car or class are chosen."""
        if not self.is_valid():
            return None
        d = self.cleaned_data
        if not d.get("track") or not (d.get("car") or d.get("car_class")):
            return None
        scope = d.get("scope") or ""
        return LeaderboardQuery(
            track_id=d["track"],
            car_id=d.get("car"),
            car_class=d.get("car_class") or "",
            team_id=None if scope in ("", "site") else int(scope),
            game=d.get("game") or "",
            period=d.get("period") or "all",
            kind=d.get("kind") or "",
        )
