"""Users and their password hashes."""
from __future__ import annotations

from app.db import Database


class AccountStore:
    def __init__(self, db: Database):
        self.db = db

    def create_user(self, email, password_hash, first_name, last_name) -> int | None:
        """The new user's id, or None when the email is taken."""
        with self.db.connection() as conn:
            row = conn.execute(
                "INSERT INTO users (email, password_hash, first_name, last_name)"
                " VALUES (%s, %s, %s, %s) ON CONFLICT (email) DO NOTHING RETURNING id",
                (email, password_hash, first_name, last_name)).fetchone()
        return row[0] if row else None

    def credentials(self, email) -> tuple[int, str] | None:
        with self.db.connection() as conn:
            return conn.execute("SELECT id, password_hash FROM users WHERE email = %s",
                                (email,)).fetchone()

    def update_password_hash(self, user_id, password_hash) -> None:
        with self.db.connection() as conn:
            conn.execute("UPDATE users SET password_hash = %s, updated_at = now() WHERE id = %s",
                         (password_hash, user_id))
