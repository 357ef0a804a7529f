from django.contrib import admin

from .models import CoachedDriver, CoachNote, ShareLink


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
    list_display = ("author", "session", "text", "created_at", "share_link", "team", "sent_by")
    raw_id_fields = ("session", "share_link", "sent_by")
