from django.contrib.auth import views as auth_views
from django.urls import path

from . import apis, views

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/login/", views.site_login, name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/signup/", views.signup, name="signup"),
    path("accounts/password/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("accounts/password/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("pair/", views.pair, name="pair"),
    path("rigs/", views.rigs, name="rigs"),
    path("accounts/units/", views.units_view, name="units"),
    path("api/rig/device/", apis.RigDeviceStartApi.as_view(), name="api-rig-device"),
    path("api/rig/token/", apis.RigDeviceTokenApi.as_view(), name="api-rig-token"),
    path("api/rig/me/", apis.RigMeApi.as_view(), name="api-rig-me"),
    path("rigs/<int:rig_id>/rename/", views.rig_rename_view, name="rig-rename"),
    path("rigs/<int:rig_id>/revoke/", views.rig_revoke_view, name="rig-revoke"),
]
