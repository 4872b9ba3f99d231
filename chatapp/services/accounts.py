"""Everything one user made, deleted at once (a person leaves the team, or asks to be forgotten).

``python -m chatapp.services.accounts delete ann@example.com`` deletes, from the app's
database and data directory (configured as for the app: secrets file, then environment):
their conversations with messages and attached images, their personas, their document
collections with files, vectors, staged uploads, kept originals and question history, and
their jobs with the webhook results those received. Nothing of anyone else's is touched; the
built-in personas and results no job here has (owned by nobody) cannot be deleted this way.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sqlalchemy import Engine, delete, or_, select

from chatapp.services import documents
from chatapp.storage import conversations as chat_store
from chatapp.storage import jobs as job_store
from chatapp.storage.db import init_db, make_engine, rows_changed, session_scope
from chatapp.users import NO_OWNER


def delete_user_data(engine: Engine, data_dir: Path, *, owner: str) -> dict[str, int]:
    """Delete every row ``owner`` made and the files that go with them; what was deleted."""
    if owner == NO_OWNER:
        raise ValueError("Name the user whose data to delete.")
    deleted: dict[str, int] = {}
    collections = documents.list_collections(engine, owner=owner)
    for collection in collections:
        documents.delete_collection(engine, data_dir, collection.id, owner=owner)
    deleted["collections"] = len(collections)
    with session_scope(engine) as session:
        conversations = session.scalars(
            select(chat_store.Conversation).where(chat_store.Conversation.owner == owner)
        ).all()
        for conversation in conversations:
            session.delete(conversation)  # its messages and their images go with it
        deleted["conversations"] = len(conversations)
        results = job_store.WebhookResult
        their_jobs = select(job_store.Job.request_id).where(job_store.Job.owner == owner)
        deleted["results"] = rows_changed(
            session,
            delete(results).where(or_(results.owner == owner, results.request_id.in_(their_jobs))),
        )
        for name, model in (("jobs", job_store.Job), ("personas", chat_store.Persona)):
            deleted[name] = rows_changed(session, delete(model).where(model.owner == owner))
    return deleted


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chatapp.services.accounts")
    sub = parser.add_subparsers(dest="command", required=True)
    remove = sub.add_parser("delete", help="delete everything one user made")
    remove.add_argument("user", help="their owner id: the e-mail address they sign in with")
    args = parser.parse_args(argv)
    from chatapp.settings import load_config_without_streamlit

    config = load_config_without_streamlit()
    engine = make_engine(config.database_url)
    init_db(engine)
    user = args.user.strip()
    owner = user.lower() if "@" in user and "|" not in user else user  # e-mail ids: lower case
    deleted = delete_user_data(engine, config.data_dir, owner=owner)
    engine.dispose()
    print("Deleted " + ", ".join(f"{count} {what}" for what, count in deleted.items()) + ".")
    return 0


if __name__ == "__main__":
    sys.exit(main())
