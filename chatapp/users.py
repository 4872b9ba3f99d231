"""Who is using the app: the value every service scopes its data by.

Without sign-in the app has one user, :data:`LOCAL_USER`, and every row it stores belongs to
that user's id (:data:`LOCAL_OWNER`). With sign-in (``[auth]`` in ``.streamlit/secrets.toml``),
the signed-in person is a :class:`User` whose :attr:`User.id` is the owner stored on every row
they make. Only :mod:`chatapp.state` builds a :class:`User` from Streamlit; services take the
owner id as a plain string. This module imports no Streamlit.
"""

from __future__ import annotations

from dataclasses import dataclass

#: The owner of every row when sign-in is not configured (a laptop, one person).
LOCAL_OWNER = "local"
#: The owner of rows that belong to nobody: the built-in personas (shared by everyone, read-only)
#: and a webhook result for a request no user of this app submitted (shown to no signed-in user).
NO_OWNER = ""


@dataclass(frozen=True)
class User:
    """The person using this session.

    ``id`` is the stable owner key stored with their data: the provider's e-mail address in
    lower case when it gives a verified one, else ``"<issuer>|<subject>"``; :data:`LOCAL_OWNER`
    without sign-in.
    """

    id: str
    email: str | None = None
    name: str | None = None
    signed_in: bool = False

    @property
    def label(self) -> str:
        """How the sidebar names this user."""
        return self.name or self.email or ("you" if not self.signed_in else self.id)


LOCAL_USER = User(id=LOCAL_OWNER)
