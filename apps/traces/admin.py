from django.contrib import admin

from .models import TraceChunk


@admin.register(TraceChunk)
class TraceChunkAdmin(admin.ModelAdmin):
    list_display = ("session", "seq_start", "n", "t_start", "t_end")
    exclude = ("data",)
