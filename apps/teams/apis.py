"""Teams, memberships, invitations, leaderboards and reference laps in the REST API.

Session or token auth; every object goes through the same access helpers as the pages
(`membership_get_for_user`, `lap_get_for_user(shared=True)`), so a team you are not in is a
404 and a management call by a plain member a 403, exactly as on the pages.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.sessions.models import Session
from apps.sessions.selectors import session_get_for_user
from simcoach_site.lib.auth import request_user

from . import services
from .models import Invitation, LiveReference, Membership, Role, Team
from .selectors import (
    PERIODS,
    TRACK_TEMPS,
    Leaderboard,
    LeaderboardError,
    LeaderboardQuery,
    LeaderboardRow,
    invitation_by_token,
    invitation_for_user,
    invitation_get,
    invitation_list,
    leaderboard,
    live_reference_get_for_user,
    live_reference_list,
    member_get,
    membership_get_for_user,
    team_list_for_user,
)
from .services import TeamError

# Every role field offers the four roles (one enum in the schema); the services refuse an
# invitation as owner with a 400 that says ownership is transferred.
ROLES = Role.choices


def _refused(exc: TeamError) -> ValidationError:
    return ValidationError({"detail": str(exc)})


class TeamOutput(serializers.ModelSerializer):
    role = serializers.SerializerMethodField()

    class Meta:
        model = Team
        fields = ["id", "name", "created_at", "role"]

    def get_role(self, team: Team) -> str | None:
        user_id = self.context.get("user_id")
        member = team.memberships.filter(user_id=user_id).first()
        return member.role if member else None


class MemberOutput(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username")

    class Meta:
        model = Membership
        fields = ["id", "username", "role", "joined_at", "share_by_default"]


class InvitationOutput(serializers.ModelSerializer):
    invited_user = serializers.CharField(source="invited_user.username", default=None)

    class Meta:
        model = Invitation
        fields = ["id", "role", "invited_user", "token_hint", "created_at", "expires_at", "use_count"]


class TeamListApi(APIView):
    """Your teams; POST creates one with you as owner."""

    @extend_schema_serializer(component_name="TeamCreateInput")
    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=80)

    @extend_schema(responses={200: TeamOutput(many=True)})
    def get(self, request: Request) -> Response:
        teams = team_list_for_user(user=request.user)
        return Response(TeamOutput(teams, many=True, context={"user_id": request.user.pk}).data)

    @extend_schema(request=InputSerializer, responses={201: TeamOutput})
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            team = services.team_create(owner=request_user(request), name=data.validated_data["name"])
        except TeamError as exc:
            raise _refused(exc) from None
        return Response(TeamOutput(team, context={"user_id": request.user.pk}).data, status.HTTP_201_CREATED)


class TeamDetailApi(APIView):
    """One of your teams. DELETE leaves it (the owner transfers ownership first)."""

    @extend_schema(responses={200: TeamOutput})
    def get(self, request: Request, team_id: int) -> Response:
        me = membership_get_for_user(user=request.user, team_id=team_id)
        return Response(TeamOutput(me.team, context={"user_id": request.user.pk}).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, team_id: int) -> Response:
        me = membership_get_for_user(user=request.user, team_id=team_id)
        try:
            services.membership_leave(membership=me)
        except TeamError as exc:
            raise _refused(exc) from None
        return Response(status=status.HTTP_204_NO_CONTENT)


class MemberListApi(APIView):
    """The team's members (any member may list them); PATCH your own sharing default here too."""

    @extend_schema_serializer(component_name="MembershipSharingInput")
    class InputSerializer(serializers.Serializer):
        share_by_default = serializers.BooleanField()

    @extend_schema(responses={200: MemberOutput(many=True)})
    def get(self, request: Request, team_id: int) -> Response:
        me = membership_get_for_user(user=request.user, team_id=team_id)
        return Response(MemberOutput(me.team.memberships.select_related("user"), many=True).data)

    @extend_schema(
        request=InputSerializer, responses={200: MemberOutput}, operation_id="teams_my_sharing_update"
    )
    def patch(self, request: Request, team_id: int) -> Response:
        me = membership_get_for_user(user=request.user, team_id=team_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.membership_share_default_set(membership=me, share=data.validated_data["share_by_default"])
        return Response(MemberOutput(me).data)


class MemberDetailApi(APIView):
    """PATCH a member's role (`owner` transfers ownership; owner only); DELETE removes them."""

    @extend_schema_serializer(component_name="MembershipRoleInput")
    class InputSerializer(serializers.Serializer):
        role = serializers.ChoiceField(choices=ROLES)

    @extend_schema(request=InputSerializer, responses={200: MemberOutput})
    def patch(self, request: Request, team_id: int, membership_id: int) -> Response:
        me = membership_get_for_user(user=request.user, team_id=team_id, manage=True)
        member = member_get(team=me.team, membership_id=membership_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            if data.validated_data["role"] == Role.OWNER:
                services.ownership_transfer(by=me, to=member)
            else:
                services.membership_role_set(by=me, member=member, role=data.validated_data["role"])
        except TeamError as exc:
            raise _refused(exc) from None
        member.refresh_from_db()
        return Response(MemberOutput(member).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, team_id: int, membership_id: int) -> Response:
        me = membership_get_for_user(user=request.user, team_id=team_id, manage=True)
        services.membership_remove(by=me, member=member_get(team=me.team, membership_id=membership_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class InvitationListApi(APIView):
    """The team's open invitations (owner and managers); POST makes a link or a username one.
    A link's URL is in the answer once: only its hash is stored."""

    @extend_schema_serializer(component_name="InvitationCreateInput")
    class InputSerializer(serializers.Serializer):
        role = serializers.ChoiceField(choices=ROLES, default=Role.DRIVER.value)
        username = serializers.CharField(max_length=150, required=False)
        expires_in_hours = serializers.IntegerField(min_value=1, max_value=720, default=168)

    @extend_schema(responses={200: InvitationOutput(many=True)})
    def get(self, request: Request, team_id: int) -> Response:
        me = membership_get_for_user(user=request.user, team_id=team_id, manage=True)
        return Response(InvitationOutput(invitation_list(team=me.team), many=True).data)

    @extend_schema(request=InputSerializer, responses={201: OpenApiTypes.OBJECT})
    def post(self, request: Request, team_id: int) -> Response:
        me = membership_get_for_user(user=request.user, team_id=team_id, manage=True)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        d = data.validated_data
        try:
            if d.get("username"):
                invitation = services.invitation_create_user(by=me, username=d["username"], role=d["role"])
                return Response(InvitationOutput(invitation).data, status.HTTP_201_CREATED)
            invitation, token = services.invitation_create_link(
                by=me, role=d["role"], expires_in=dt.timedelta(hours=d["expires_in_hours"])
            )
        except TeamError as exc:
            raise _refused(exc) from None
        url = request.build_absolute_uri(f"/teams/join/{token}/")
        return Response(
            {**InvitationOutput(invitation).data, "token": token, "url": url}, status.HTTP_201_CREATED
        )


class InvitationRevokeApi(APIView):
    """Revoke an invitation (owner and managers): its link stops working at once."""

    @extend_schema(responses={204: None})
    def delete(self, request: Request, team_id: int, invitation_id: int) -> Response:
        me = membership_get_for_user(user=request.user, team_id=team_id, manage=True)
        services.invitation_revoke(
            by=me, invitation=invitation_get(team=me.team, invitation_id=invitation_id)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class InvitationAcceptApi(APIView):
    """Join a team: with a link's token, or the id of an invitation sent to your username."""

    @extend_schema_serializer(component_name="InvitationAcceptInput")
    class InputSerializer(serializers.Serializer):
        token = serializers.CharField(max_length=200, required=False)
        invitation = serializers.IntegerField(required=False)

    @extend_schema(request=InputSerializer, responses={200: MemberOutput})
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        d = data.validated_data
        if d.get("token"):
            invitation = invitation_by_token(token=d["token"])
            if invitation is None:
                raise ValidationError({"token": "unknown, expired or revoked invitation"})
        elif d.get("invitation") is not None:
            invitation = invitation_for_user(user=request.user, invitation_id=d["invitation"])
        else:
            raise ValidationError({"detail": "give a token or an invitation id"})
        try:
            membership = services.invitation_accept(user=request_user(request), invitation=invitation)
        except TeamError as exc:
            raise _refused(exc) from None
        return Response(MemberOutput(membership).data)


class SessionShareApi(APIView):
    """Share one of your sessions with a team you are in, or hide it from it."""

    @extend_schema_serializer(component_name="SessionShareInput")
    class InputSerializer(serializers.Serializer):
        shared = serializers.BooleanField()

    @extend_schema(request=InputSerializer, responses={200: OpenApiTypes.OBJECT})
    def put(self, request: Request, team_id: int, session_id: int) -> Response:
        me = membership_get_for_user(user=request.user, team_id=team_id)
        session: Session = session_get_for_user(user=request.user, session_id=session_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.session_share_set(membership=me, session=session, shared=data.validated_data["shared"])
        return Response({"team": team_id, "session": session_id, "shared": data.validated_data["shared"]})


def _row_json(row: LeaderboardRow) -> dict[str, Any]:
    return {
        "rank": row.rank,
        "driver": row.driver,
        "lap": row.lap.pk,
        "session": row.lap.session_id,
        "time_ms": row.time_ms,
        "gap_ms": row.gap_ms,
        "sector_ms": row.sector_ms,
        "date": row.date.isoformat(),
        "car": row.car,
        "track_temp_c": row.track_temp_c,
    }


def leaderboard_json(board: Leaderboard) -> dict[str, Any]:
    return {
        "track": board.track.name,
        "rows": [_row_json(r) for r in board.rows],
        "mine": _row_json(board.mine) if board.mine else None,
        "my_best_lap": board.my_best_lap_id,
    }


class LeaderboardApi(APIView):
    """Best complete, valid, timed lap per driver on a track and car (or class)."""

    class InputSerializer(serializers.Serializer):
        track = serializers.IntegerField()
        car = serializers.IntegerField(required=False)
        car_class = serializers.CharField(max_length=40, required=False, default="")
        team = serializers.IntegerField(
            required=False, help_text="a team you are in; omit for the site board"
        )
        game = serializers.CharField(max_length=16, required=False, default="")
        period = serializers.ChoiceField(choices=list(PERIODS), default="all")
        kind = serializers.ChoiceField(choices=["", *Session.Kind.values], default="")
        track_temp = serializers.ChoiceField(
            choices=["", *TRACK_TEMPS],
            default="",
            help_text="only sessions whose track temperature was in this band: cool < 20 °C, "
            "mild 20–30, warm 30–40, hot ≥ 40; sessions without recorded conditions are left out",
        )

    @extend_schema(parameters=[InputSerializer], responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request) -> Response:
        params = self.InputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        d = params.validated_data
        query = LeaderboardQuery(
            track_id=d["track"],
            car_id=d.get("car"),
            car_class=d["car_class"],
            team_id=d.get("team"),
            game=d["game"],
            period=d["period"],
            kind=d["kind"],
            track_temp=d["track_temp"],
        )
        try:
            board = leaderboard(user=request.user, query=query)
        except LeaderboardError as exc:
            raise ValidationError({"detail": str(exc)}) from None
        return Response(leaderboard_json(board))


class ReferenceOutput(serializers.ModelSerializer):
    track = serializers.CharField(source="track.name")
    car = serializers.CharField(source="car.name")

    class Meta:
        model = LiveReference
        fields = ["id", "lap", "track", "car", "chosen_at"]


class ReferenceListApi(APIView):
    """Your live-reference laps per track and car; POST a lap you may read (yours or a team mate's)."""

    @extend_schema_serializer(component_name="ReferenceSetInput")
    class InputSerializer(serializers.Serializer):
        lap = serializers.IntegerField()

    @extend_schema(responses={200: ReferenceOutput(many=True)})
    def get(self, request: Request) -> Response:
        return Response(ReferenceOutput(live_reference_list(user=request.user), many=True).data)

    @extend_schema(request=InputSerializer, responses={201: ReferenceOutput})
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            ref = services.live_reference_set(user=request_user(request), lap_id=data.validated_data["lap"])
        except TeamError as exc:
            raise _refused(exc) from None
        return Response(ReferenceOutput(ref).data, status.HTTP_201_CREATED)


class ReferenceDeleteApi(APIView):
    """Clear a live-reference choice: the live delta goes back to your own reference or best."""

    @extend_schema(responses={204: None})
    def delete(self, request: Request, reference_id: int) -> Response:
        services.live_reference_clear(
            reference=live_reference_get_for_user(user=request.user, reference_id=reference_id)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)
