from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from .models import (
    Invitation,
    LiveReference,
    Membership,
    SessionBest,
    SessionShare,
    SiteLeaderboardOptIn,
    Team,
)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ("user",)


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ("name", "created_at")
    inlines = [MembershipInline]


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ("team", "role", "invited_user", "expires_at", "revoked_at", "use_count")
    readonly_fields = ("token_hash", "token_hint")


admin.site.register(SessionShare)
admin.site.register(LiveReference)
admin.site.register(SiteLeaderboardOptIn)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("team", "user", "role", "share_by_default", "joined_at")
    list_filter = ("role",)
    raw_id_fields = ("user",)


@admin.register(SessionBest)
class SessionBestAdmin(admin.ModelAdmin):
    """Derived from the laps (lap_stored keeps it): shown to check a leaderboard, never edited."""

    list_display = ("session", "lap", "time_ms", "number")
    raw_id_fields = ("session", "lap")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: SessionBest | None = None) -> bool:
        return False
