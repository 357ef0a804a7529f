"""The session list's filter form (GET): choices limited to what the user has driven."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.models import AnonymousUser, User

from .models import Session
from .selectors import session_filter_choices


class SessionFilterForm(forms.Form):
    game = forms.ChoiceField(required=False)
    track = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)
    car = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)
    kind = forms.ChoiceField(required=False, choices=[("", "any kind"), *Session.Kind.choices])
    date_from = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args: Any, user: User | AnonymousUser, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = session_filter_choices(user=user)
        for name, label in (("game", "any game"), ("track", "any track"), ("car", "any car")):
            self.fields[name].choices = [("", label), *choices[name]]  # type: ignore[attr-defined]

    def filters(self) -> dict[str, Any]:
        """The valid filters; an invalid field (a stale id, a bad date) is simply not applied."""
        self.is_valid()
        return {k: v for k, v in self.cleaned_data.items() if v not in (None, "")}
