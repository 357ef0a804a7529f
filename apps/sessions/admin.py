from django.contrib import admin

from .models import Car, Import, Lap, Session, Track


@admin.register(Track)
class TrackAdmin(admin.ModelAdmin):
    list_display = ("name", "game", "length_m")


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
