"""Forms of the sharing pages: parse input, check it through the access helpers, nothing more."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.contrib.auth.models import User
from django.http import Http404

from apps.accounts.lib.tokens import SHARE_TOKEN_PREFIX
from apps.accounts.selectors import rig_get_for_user, rig_list
from apps.sessions.models import Session
from apps.sessions.selectors import session_get_for_user

from .services import SHARE_EXPIRIES

EXPIRY_CHOICES = [("1h", "1 hour"), ("1d", "1 day"), ("7d", "7 days"), ("never", "Never")]
RECENT_SESSIONS = 30  # sessions offered in the picker
TOKEN_IN_TEXT = re.compile(re.escape(SHARE_TOKEN_PREFIX) + r"[A-Za-z0-9_-]{16,120}")


class ShareLinkCreateForm(forms.Form):
    target = forms.ChoiceField(label="Share")
    expiry = forms.ChoiceField(label="Expires after", choices=EXPIRY_CHOICES, initial="1d")
    label = forms.CharField(label="For (shown as the author of notes)", max_length=80, required=False)

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        rigs = [
            (f"rig:{r.pk}", f"Live view of {r.name} (follows every session)") for r in rig_list(user=user)
        ]
        recent = Session.objects.filter(owner_id=user.pk).select_related("track", "car")[:RECENT_SESSIONS]
        sessions = [(f"session:{s.pk}", f"Session: {s}") for s in recent]
        target = self.fields["target"]
        assert isinstance(target, forms.ChoiceField)
        target.choices = [("Rigs", rigs), ("Sessions", sessions)]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        kind, _, pk = str(data.get("target", "")).partition(":")
        try:
            if kind == "rig":
                data["rig"] = rig_get_for_user(user=self.user, rig_id=int(pk))
            elif kind == "session":
                data["session"] = session_get_for_user(user=self.user, session_id=int(pk))
        except (Http404, ValueError):
            raise forms.ValidationError("Choose one of your rigs or sessions.") from None
        data["expires_in"] = SHARE_EXPIRIES.get(str(data.get("expiry")))
        return data


class CoachedDriverSaveForm(forms.Form):
    link = forms.CharField(label="Share link", max_length=300)
    nickname = forms.CharField(label="Nickname", max_length=80, required=False)

    def clean_link(self) -> str:
        # Accept the whole URL the driver sent, or just the token in it.
        found = TOKEN_IN_TEXT.search(self.cleaned_data["link"])
        if found is None:
            raise forms.ValidationError("Paste the share link the driver sent you (…/s/sc_share_…/).")
        return found.group(0)
