"""Forms of the team pages and the leaderboard filter: parse input, nothing more."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms

from apps.sessions.models import Session
from simcoach_site.lib.units import STORED, Units, convert

from .models import Role
from .selectors import PERIODS, TRACK_TEMPS, LeaderboardQuery

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
    """`?track=&car=|class=&scope=site|<team id>&game=&period=&kind=&track_temp=`."""

    track = forms.TypedChoiceField(coerce=int, required=False)
    car = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)
    car_class = forms.ChoiceField(required=False, label="or class")
    scope = forms.ChoiceField(required=False)
    game = forms.CharField(max_length=16, required=False)
    period = forms.ChoiceField(choices=[(p, p) for p in PERIODS], initial="all", required=False)
    kind = forms.ChoiceField(choices=[("", "any"), *Session.Kind.choices], required=False)
    track_temp = forms.ChoiceField(required=False, label="Track temperature")

    def __init__(
        self, *args: Any, choices: dict[str, list[tuple[Any, str]]], units: Units = STORED, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        fields: dict[str, Any] = self.fields
        fields["track"].choices = [("", "choose a track"), *choices["track"]]
        fields["car"].choices = [("", "any car of the class"), *choices["car"]]
        fields["car_class"].choices = [("", "—"), *choices["car_class"]]
        fields["scope"].choices = choices["scope"]
        fields["track_temp"].choices = [("", "any"), *_band_choices(units)]

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
            track_temp=d.get("track_temp") or "",
        )


def _band_choices(units: Units) -> list[tuple[str, str]]:
    """The track-temperature bands, labelled in the viewer's temperature unit."""

    def deg(c: float) -> str:
        return f"{convert(c, '°C', units):.0f} {units.temperature}"

    out = []
    for band, (low, high) in TRACK_TEMPS.items():
        if low is None:
            label = f"under {deg(high or 0.0)}"
        elif high is None:
            label = f"{deg(low)} and over"
        else:
            label = f"{deg(low)} to {deg(high)}"
        out.append((band, f"{band} ({label})"))
    return out
