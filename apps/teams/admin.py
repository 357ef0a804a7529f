from django.contrib import admin

from .models import Invitation, LiveReference, Membership, SessionShare, SiteLeaderboardOptIn, Team


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
