from django.contrib import admin

from .models import DeviceAuthorization, Rig


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
