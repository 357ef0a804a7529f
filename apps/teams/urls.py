from django.urls import path

from . import apis, views

urlpatterns = [
    path("teams/", views.teams, name="teams"),
    path("teams/<int:team_id>/", views.team_detail, name="team-detail"),
    path("teams/<int:team_id>/invite/", views.team_invite, name="team-invite"),
    path(
        "teams/<int:team_id>/invitations/<int:invitation_id>/revoke/",
        views.team_invitation_revoke,
        name="team-invitation-revoke",
    ),
    path("teams/join/<str:token>/", views.team_join, name="team-join"),
    path(
        "teams/invitations/<int:invitation_id>/accept/",
        views.team_invitation_accept,
        name="team-invitation-accept",
    ),
    path("teams/<int:team_id>/leave/", views.team_leave, name="team-leave"),
    path("teams/<int:team_id>/delete/", views.team_delete, name="team-delete"),
    path(
        "teams/<int:team_id>/members/<int:membership_id>/remove/",
        views.team_member_remove,
        name="team-member-remove",
    ),
    path(
        "teams/<int:team_id>/members/<int:membership_id>/role/",
        views.team_member_role,
        name="team-member-role",
    ),
    path(
        "teams/<int:team_id>/members/<int:membership_id>/transfer/", views.team_transfer, name="team-transfer"
    ),
    path("teams/<int:team_id>/sharing/", views.team_share_default, name="team-share-default"),
    path(
        "teams/<int:team_id>/sessions/<int:session_id>/share/",
        views.team_session_share,
        name="team-session-share",
    ),
    path("leaderboards/", views.leaderboards, name="leaderboards"),
    path("leaderboards/listing/", views.leaderboard_listing, name="leaderboard-listing"),
    path("laps/<int:lap_id>/compare-with-mine/", views.compare_with_mine, name="compare-with-mine"),
    path("references/", views.references, name="references"),
    path("references/use/<int:lap_id>/", views.reference_use, name="reference-use"),
    path("references/<int:reference_id>/clear/", views.reference_clear, name="reference-clear"),
    path("api/teams/", apis.TeamListApi.as_view(), name="api-teams"),
    path("api/teams/<int:team_id>/", apis.TeamDetailApi.as_view(), name="api-team"),
    path("api/teams/<int:team_id>/members/", apis.MemberListApi.as_view(), name="api-team-members"),
    path(
        "api/teams/<int:team_id>/members/<int:membership_id>/",
        apis.MemberDetailApi.as_view(),
        name="api-team-member",
    ),
    path(
        "api/teams/<int:team_id>/invitations/", apis.InvitationListApi.as_view(), name="api-team-invitations"
    ),
    path(
        "api/teams/<int:team_id>/invitations/<int:invitation_id>/",
        apis.InvitationRevokeApi.as_view(),
        name="api-team-invitation",
    ),
    path("api/invitations/accept/", apis.InvitationAcceptApi.as_view(), name="api-invitation-accept"),
    path(
        "api/teams/<int:team_id>/sessions/<int:session_id>/share/",
        apis.SessionShareApi.as_view(),
        name="api-team-session-share",
    ),
    path("api/leaderboards/", apis.LeaderboardApi.as_view(), name="api-leaderboards"),
    path("api/references/", apis.ReferenceListApi.as_view(), name="api-references"),
    path("api/references/<int:reference_id>/", apis.ReferenceDeleteApi.as_view(), name="api-reference"),
]
