from django.contrib import admin

from .models import CoachedDriver, CoachNote, DeviceAuthorization, Rig, ShareLink


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


@admin.register(ShareLink)
class ShareLinkAdmin(admin.ModelAdmin):
    list_display = ("label", "owner", "kind", "expires_at", "revoked_at", "last_used_at", "use_count")
    list_filter = ("kind",)
    readonly_fields = ("token_hash", "token_hint")


@admin.register(CoachedDriver)
class CoachedDriverAdmin(admin.ModelAdmin):
    list_display = ("nickname", "coach", "share_link", "created_at")


@admin.register(CoachNote)
class CoachNoteAdmin(admin.ModelAdmin):
    list_display = ("author", "session", "text", "created_at")
