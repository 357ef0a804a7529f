"""A live viewer's cue requests (pin, remove) made over its socket: the page's one way in.

The socket has authorised the viewer for `session` (its owner, or a share link re-resolved
for this request); here the request's fields go to the coaching services, which check them.
"""

from __future__ import annotations

from django.contrib.auth.models import User

from apps.coaching.models import Cue
from apps.coaching.selectors_cues import cue_get_for_session
from apps.coaching.services_cues import CueRefused, cue_pin, cue_remove
from apps.sessions.models import Session

ALLOWED = {
    "cue_pin": {"type", "at_m", "text", "lead_s", "repeat", "label"},
    "cue_remove": {"type", "id"},
}


def viewer_cue_request(
    *, session: Session, content: dict[str, object], author: str, via: str, author_user: User | None
) -> Cue:
    """Pin or remove as `content` asks; CueRefused (or Http404 for a cue not of this session)."""
    kind = str(content.get("type"))
    unknown = set(content) - ALLOWED.get(kind, set())
    if unknown:
        raise CueRefused(f"unexpected fields: {', '.join(sorted(unknown))[:80]}")
    if kind == "cue_remove":
        cue_id = content.get("id")
        if isinstance(cue_id, bool) or not isinstance(cue_id, int) or not 0 < cue_id < 2**63:
            raise CueRefused("id must be the number of a cue")
        return cue_remove(cue=cue_get_for_session(session=session, cue_id=cue_id))
    return cue_pin(
        session=session,
        author=author,
        via=via,
        author_user=author_user,
        at_m=content.get("at_m"),
        text=content.get("text"),
        lead_s=content.get("lead_s", 3.0),
        repeat=content.get("repeat", Cue.Repeat.EVERY_LAP),
        label=content.get("label", ""),
    )
