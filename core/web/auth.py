"""Web users: scrypt password hashes, roles, and the checks every request goes through.

Passwords are hashed with the standard library's ``hashlib.scrypt`` (memory-hard, no
extra dependency) and a 16-byte salt of their own; the parameters are stored with the
hash so they can be raised later without invalidating old hashes.  Comparisons are
constant-time.  A user's ``session_epoch`` changes with their password or role, which
ends every session signed before (a stolen cookie stops working at the next change).

Roles, each including the one before:

- ``viewer``: reads every screen; can change nothing (the server answers 403);
- ``operator``: every change but users and secrets (channel secrets stay write-only
  for admins);
- ``admin``: everything.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pazar.errors import NotFoundError, ValidationError
from pazar.models.web import ROLES, WebUser
from pazar.suggest import did_you_mean

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
MIN_PASSWORD = 10
MAX_PASSWORD = 1024
_USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
RANK = {role: n for n, role in enumerate(ROLES)}


def hash_password(password: str, *, n: int = SCRYPT_N, r: int = SCRYPT_R, p: int = SCRYPT_P) -> str:
    """``scrypt$n$r$p$salt$hash`` (hex) for a new password."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=32)
    return f"scrypt${n}${r}${p}${salt.hex()}${digest.hex()}"


def check_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches ``stored``; False for anything malformed."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        got = hashlib.scrypt(
            password.encode("utf-8")[: MAX_PASSWORD * 4],
            salt=bytes.fromhex(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(digest) // 2,
            maxmem=256 * 1024 * 1024,
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got.hex(), digest)


# A hash to compare against when the user does not exist, so a wrong name and a
# wrong password take the same time (no user enumeration by timing).
_DUMMY = hash_password(secrets.token_hex(16))


def password_problems(password: str) -> list[str]:
    problems = []
    if len(password) < MIN_PASSWORD:
        problems.append(f"password: at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        problems.append(f"password: at most {MAX_PASSWORD} characters")
    if password and not password.strip():
        problems.append("password: not only spaces")
    return problems


def check_role(role: str) -> str:
    if role not in ROLES:
        raise ValidationError(
            f"role {role!r}{did_you_mean(role, ROLES)}: one of {', '.join(ROLES)}"
        )
    return role


def get_user(session: Session, username: str) -> WebUser:
    user = session.scalar(select(WebUser).where(WebUser.username == username))
    if user is None:
        known = list(session.scalars(select(WebUser.username)))
        raise NotFoundError(f"no web user {username!r}{did_you_mean(username, known)}")
    return user


def add_user(
    session: Session, username: str, password: str, role: str, *, now: datetime
) -> WebUser:
    problems = []
    if not _USERNAME.match(username or ""):
        problems.append(
            f"username {username!r}: letters, digits, '.', '_', '@' or '-' (at most 64)"
        )
    else:
        # Admin and admin would be two accounts a reader takes for one (audit log, screens)
        same = session.scalar(
            select(WebUser.username).where(func.lower(WebUser.username) == username.lower())
        )
        if same is not None:
            problems.append(
                f"username {username!r} exists already"
                if same == username
                else f"username {username!r}: {same!r} exists already (names differ by case only)"
            )
    if role not in ROLES:
        problems.append(f"role {role!r}{did_you_mean(role, ROLES)}: one of {', '.join(ROLES)}")
    problems += password_problems(password)
    if problems:
        raise ValidationError(f"web user {username!r} not added", details=problems)
    user = WebUser(
        username=username,
        password_hash=hash_password(password),
        role=role,
        session_epoch=0,
        created_at=now,
        updated_at=now,
    )
    session.add(user)
    session.flush()
    return user


def set_password(session: Session, username: str, password: str, *, now: datetime) -> WebUser:
    user = get_user(session, username)
    problems = password_problems(password)
    if problems:
        raise ValidationError(f"password of {username!r} not changed", details=problems)
    user.password_hash = hash_password(password)
    user.session_epoch = (user.session_epoch or 0) + 1
    user.updated_at = now
    return user


def set_role(session: Session, username: str, role: str, *, now: datetime) -> tuple[str, str]:
    user = get_user(session, username)
    old = user.role
    user.role = check_role(role)
    if old != role:
        user.session_epoch = (user.session_epoch or 0) + 1
        user.updated_at = now
    return old, role


def delete_user(session: Session, username: str) -> None:
    session.delete(get_user(session, username))


def list_users(session: Session) -> list[WebUser]:
    return list(session.scalars(select(WebUser).order_by(WebUser.username)))


def authenticate(
    session: Session, username: str, password: str, *, now: datetime
) -> WebUser | None:
    """The user when the password matches, else None (same work either way)."""
    user = session.scalar(select(WebUser).where(WebUser.username == username))
    ok = check_password(password, user.password_hash if user is not None else _DUMMY)
    if user is None or not ok:
        return None
    user.last_login_at = now
    return user


def at_least(role: str, needed: str) -> bool:
    return RANK.get(role, -1) >= RANK[needed]


def user_view(user: WebUser) -> dict[str, Any]:
    return {
        "username": user.username,
        "role": user.role,
        "created_at": user.created_at,
        "last_login_at": user.last_login_at,
    }
