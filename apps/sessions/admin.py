from typing import Any

from django import forms
from django.contrib import admin

from .lib.corner_set import CornerSetError, corner_set_clean
from .models import Car, Import, Lap, Session, Track


class TrackAdminForm(forms.ModelForm):
    class Meta:
        model = Track
        fields = ("name", "game", "length_m", "corners")

    def clean_corners(self) -> list[dict[str, Any]]:
        try:
            return corner_set_clean(
                self.cleaned_data.get("corners"), length_m=self.cleaned_data.get("length_m")
            )
        except CornerSetError as exc:
            raise forms.ValidationError(str(exc)) from exc


@admin.register(Track)
class TrackAdmin(admin.ModelAdmin):
    """An admin renames a track's corners here (the set itself is made once per track; its
    corners' names are what every page, compare and report show)."""

    form = TrackAdminForm
    list_display = ("name", "game", "length_m", "corner_names")

    @admin.display(description="corners")
    def corner_names(self, track: Track) -> str:
        return ", ".join(str(c.get("name", "?")) for c in track.corners if isinstance(c, dict))


@admin.register(Car)
class CarAdmin(admin.ModelAdmin):
    list_display = ("name", "game", "car_class")


class LapInline(admin.TabularInline):
    model = Lap
    extra = 0
    fields = ("number", "time_ms", "valid", "is_out_lap", "is_in_lap", "fuel_used_l")


@admin.register(Session)
class SessionAdmin(admin.ModelAdmin):
    list_display = ("id", "owner", "game", "track", "car", "kind", "state", "started_at")
    list_filter = ("state", "game", "kind")
    inlines = [LapInline]


@admin.register(Lap)
class LapAdmin(admin.ModelAdmin):
    list_display = ("session", "number", "time_ms", "valid", "is_reference")


@admin.register(Import)
class ImportAdmin(admin.ModelAdmin):
    list_display = ("id", "owner", "filename", "size", "state", "progress", "session", "created_at")
    list_filter = ("state",)
    # The worker owns these rows: the admin shows them, it does not edit them.
    readonly_fields = [f.name for f in Import._meta.fields]
