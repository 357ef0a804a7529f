from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.urls import reverse

from simcoach_site.lib.auth import request_user

from .models import DeviceAuthorization, Rig, SignupInvite, UnitPreference
from .services import INVITE_DEFAULT_DAYS, signup_invite_create


@admin.register(Rig)
class RigAdmin(admin.ModelAdmin):
    list_display = ("name", "owner", "last_seen_at", "last_game", "revoked_at")
    list_filter = ("last_game",)
    readonly_fields = ("token_hash", "token_hint")


@admin.register(DeviceAuthorization)
class DeviceAuthorizationAdmin(admin.ModelAdmin):
    list_display = ("user_code", "client_name", "status", "user", "expires_at")
    list_filter = ("status",)
    readonly_fields = ("device_code_hash",)


@admin.register(SignupInvite)
class SignupInviteAdmin(admin.ModelAdmin):
    """Invites for SIGNUP=invite. Adding one shows its link once, in the page's message."""

    list_display = ("__str__", "created_by", "created_at", "expires_at", "used_by", "used_at")
    fields = ("note",)
    readonly_fields = ("token_hint", "created_by", "expires_at", "used_by", "used_at")

    def has_change_permission(self, request: HttpRequest, obj: SignupInvite | None = None) -> bool:
        return False  # an invite is made, used or deleted; never edited

    def save_model(self, request: HttpRequest, obj: SignupInvite, form: forms.Form, change: bool) -> None:
        invite, token = signup_invite_create(created_by=request_user(request), note=obj.note)
        # The admin logs, names and links the object it passed in: make it the saved invite.
        obj.pk, obj.token_hint, obj.expires_at, obj.created_at = (
            invite.pk,
            invite.token_hint,
            invite.expires_at,
            invite.created_at,
        )
        url = request.build_absolute_uri(reverse("signup")) + f"?invite={token}"
        self.message_user(request, f"Invite link (shown once, valid {INVITE_DEFAULT_DAYS} days): {url}")


@admin.register(UnitPreference)
class UnitPreferenceAdmin(admin.ModelAdmin):
    list_display = ("user", "speed", "pressure", "temperature", "updated_at")
    raw_id_fields = ("user",)
