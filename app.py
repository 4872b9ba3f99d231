"""Baseten Chat: the Streamlit entry point.

``streamlit run app.py`` serves two things on one port:

* the UI (this same file, run by Streamlit for each session: navigation + shared sidebar);
* ``POST /hooks/baseten``, the receiver for Baseten's async-inference webhooks, as a Starlette
  route of :class:`streamlit.App`.

When the server imports this file at start, it also starts loading, in the background, every
local embedding model a document collection uses, so the first upload does not wait for it,
and starts this replica's indexing workers, which take uploads queued in the database.

Streamlit finds the module-level ``app`` and serves it with uvicorn; when it then runs this
file as the page script there is a script context, and the UI is drawn.
"""

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from chatapp.resources import get_webhook_receiver
from chatapp.services.webhook_receiver import webhook_routes

app = st.App("app.py", routes=webhook_routes(get_webhook_receiver))

if get_script_run_ctx(suppress_warning=True) is not None:
    from chatapp.ui.shell import run

    run()
else:  # the server importing this file as it starts
    from chatapp.services.documents import load_local_models_in_background
    from chatapp.services.upload_worker import start_in_background
    from chatapp.settings import load_config_without_streamlit

    server_config = load_config_without_streamlit()
    load_local_models_in_background(server_config)
    start_in_background(server_config)  # this replica takes queued uploads from the start
