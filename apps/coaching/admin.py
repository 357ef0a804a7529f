from django.contrib import admin

from .models import Cue, FocusCorner, Report


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "session",
        "trigger",
        "status",
        "source",
        "model",
        "tokens_in",
        "tokens_out",
        "created_at",
    )
    list_filter = ("status", "source", "trigger")
    readonly_fields = ("request_id", "created_at", "updated_at")
    raw_id_fields = ("session", "requested_by")


@admin.register(FocusCorner)
class FocusCornerAdmin(admin.ModelAdmin):
    list_display = ("corner", "owner", "track", "car", "kind", "target", "status")
    list_filter = ("status", "kind")
    raw_id_fields = ("owner", "track", "car", "opened_in", "closed_in")


@admin.register(Cue)
class CueAdmin(admin.ModelAdmin):
    list_display = ("text", "label", "at_m", "session", "author", "via", "created_at", "removed_at")
    list_filter = ("via", "repeat")
    raw_id_fields = ("owner", "session", "author_user")
