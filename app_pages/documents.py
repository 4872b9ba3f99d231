"""Documents: named collections of uploaded files, indexed locally, answered with citations.

Uploads are staged in the database's indexing queue, which every replica's small pool of
workers takes from: collections in turn, one file per collection at a time; a file whose
server stopped mid-way is taken over by another worker ("resumed after a server stopped"), and
files that failed keep their message. This page polls their progress with a
fragment (``run_every``) while any is queued or running, with pages parsed and chunks embedded
as numbers and a Cancel button per file, so the rest of the page stays usable and a big file
never holds up a script run. The collection's local embedding model starts loading in the
background as soon as the page opens. Questions go to the sidebar's target with the chosen
persona.

Widget keys (tests address them): ``docs_collection`` (the picker), ``docs_new_name``, ``docs_new_embed_kind``,
``docs_new_embed_model_<kind>``, ``docs_new_embed_max_tokens``, ``docs_new_chunk_size``,
``docs_new_chunk_overlap``, ``docs_create``,
``docs_rename_name_<collection id>``, ``docs_rename``, ``docs_reembed_kind``, ``docs_reembed_model``,
``docs_reembed``, ``docs_delete``, ``docs_delete_confirm``, ``docs_delete_cancel``,
``docs_upload_<n>``, ``docs_index``, ``docs_cancel_<job id>``,
``docs_dismiss``, ``docs_remove_<sha12>``, ``docs_top_k``,
``docs_cutoff``, ``docs_mode`` (vector / hybrid / hybrid + rerank), ``docs_rerank_kind``,
``docs_rerank_model_<kind>``, ``docs_clear_history``, ``docs_question``; per answer
``docs_sources_<record id>`` and ``docs_open_<record id>_<n>`` (see chatapp/ui/answer_view.py).
"""

from __future__ import annotations

import streamlit as st

from chatapp import resources, state
from chatapp.services import documents as docs
from chatapp.services import embedders, originals, personas
from chatapp.services import upload_worker as uploads
from chatapp.services.embedders import BUNDLED_MODEL, EmbedSpec
from chatapp.services.hybrid import DEFAULT_MODE, MODES
from chatapp.services.rerank import DEFAULT_LOCAL_MODEL, RerankSpec
from chatapp.ui import documents_ui as ui
from chatapp.ui.safe_text import plain_text

KINDS = {"local": "Local model (runs here)", "baseten": "Baseten embeddings deployment"}
RERANK_KINDS = {"baseten": "Baseten reranker deployment", "local": "Local cross-encoder"}
DEMO_RERANKER_ID = "rrk12345"  # the reranker deployment the offline demo's emulator serves
engine = resources.get_engine()
owner = state.current_user().id  # only this user's collections are listed, opened or changed
page = state.documents_page()
config = state.config()
worker = ui.get_worker()
max_bytes = int(st.get_option("server.maxUploadSize")) * 1024 * 1024

st.title("📚 Documents")
st.caption(
    "Upload files into a collection, then ask questions: answers cite file, page or "
    "section, and the passage they come from."
)

# --- collections -----------------------------------------------------------------------------
collections = {c.id: c for c in docs.list_collections(engine, owner=owner)}
linked = state.url_value(state.URL_COLLECTION)  # the page's address: reload, back, bookmark
if linked is not None and linked not in collections:
    st.warning(
        "The collection this page's address points to was not found; it may have been "
        "deleted. Pick one below or create a new one.",
        icon="🔎",
    )
    state.set_url_value(state.URL_COLLECTION, None)
elif linked is not None and linked != page.collection_id:
    page.collection_id = page.move_picker_to = linked
selected_id = page.collection_id
if selected_id not in collections:
    selected_id = next(iter(collections), None)
# The page moves its own selection (after create or delete) at the top of the next run: a
# keyed widget's value cannot be preset once it has been drawn in the current run. It is then
# drawn without a default, so Streamlit does not see two sources for its value.
moved_to = page.move_picker_to
picker_preset = moved_to in collections
if picker_preset:
    state.set_widget_value("docs_collection", moved_to)
    selected_id = moved_to
page.move_picker_to = None


def select_collection(collection_id: str | None) -> None:
    """Move the picker to ``collection_id`` on the next run (None: the first collection)."""
    page.collection_id = page.move_picker_to = collection_id
    state.set_url_value(state.URL_COLLECTION, collection_id)


pick_col, new_col = st.columns([3, 2], vertical_alignment="bottom")
if collections:
    ids = list(collections)
    selected_id = (
        pick_col.selectbox(
            "Collection",
            ids,
            index=None if picker_preset else ids.index(selected_id),
            format_func=lambda cid: collections[cid].name,
            key="docs_collection",
        )
        or selected_id
    )
    page.collection_id = selected_id
    state.set_url_value(state.URL_COLLECTION, selected_id)
else:
    pick_col.info("No collections yet: create one to upload files into.")

with new_col.popover("➕ New collection", width="stretch"):
    new_name = st.text_input("Name", key="docs_new_name", max_chars=docs.MAX_NAME)
    new_kind = st.radio("Embeddings", list(KINDS), format_func=KINDS.get, key="docs_new_embed_kind")
    new_model = st.text_input(
        "Embedding model" if new_kind == "local" else "Baseten embeddings model id",
        value=config.embed_model if new_kind == "local" else "",
        key=f"docs_new_embed_model_{new_kind}",
        help=f"Local: '{BUNDLED_MODEL}' is bundled; other sentence-transformers names download "
        "from HuggingFace. Baseten: the 8-character model id of a BEI deployment.",
    )
    stated_limit = None
    if new_kind == "baseten":
        stated_limit = st.number_input(
            "Model's input limit (tokens)",
            64,
            32768,
            embedders.BASETEN_DEFAULT_MAX_TOKENS,
            64,
            key="docs_new_embed_max_tokens",
            help="How many tokens the deployment reads per text; chunks are sized to fit.",
        )
    new_spec = EmbedSpec(new_kind, (new_model or "").strip())
    limit = embedders.max_input_tokens(new_spec, stated_limit) if new_spec.model else None
    fit = embedders.default_chunk_size(limit)
    size_col, overlap_col = st.columns(2)
    chunk_size = size_col.number_input(
        "Chunk size (tokens)",
        64,
        4096,
        None,
        16,
        key="docs_new_chunk_size",
        placeholder=f"{fit} (fits the model)",
        help=(
            f"This model reads at most {limit} tokens per chunk."
            if limit
            else "Leave empty to size chunks for the model."
        ),
    )
    chunk_overlap = overlap_col.number_input(
        "Overlap (tokens)",
        0,
        1024,
        None,
        8,
        key="docs_new_chunk_overlap",
        placeholder=f"{embedders.default_chunk_overlap(int(chunk_size or fit))}",
    )
    if st.button("Create collection", key="docs_create", type="primary"):
        try:
            created = docs.create_collection(
                engine,
                new_name,
                new_spec,
                None if chunk_size is None else int(chunk_size),
                None if chunk_overlap is None else int(chunk_overlap),
                owner=owner,
                max_tokens=None if stated_limit is None else int(stated_limit),
            )
        except docs.DocumentsError as exc:
            st.error(str(exc))
        else:
            select_collection(created.id)
            st.rerun()

collection = collections.get(selected_id) if selected_id else None
if collection is None:
    st.stop()

store_dir = str(docs.index_dir(config.data_dir, collection.id))
store = ui.get_store(collection.id, store_dir)
resources.preload_embedder(collection.embed)  # in the background: ready before the first upload
embedder = resources.embedder_factory(collection.embed, config, state.api_key())
files = docs.list_files(engine, collection.id, owner=owner)
busy = worker.busy(collection.id)
st.caption(
    f"Embeddings: {collection.embed.label} · chunks of {collection.chunk_size} tokens, "
    f"overlap {collection.chunk_overlap} · {len(files)} file{'' if len(files) == 1 else 's'}, "
    f"{len(store)} chunk{'' if len(store) == 1 else 's'}"
)

with st.expander("Manage collection"):
    rename_to = st.text_input(
        "Rename to", value=collection.name, key=f"docs_rename_name_{collection.id}"
    )
    if st.button("Rename", key="docs_rename"):
        try:
            docs.rename_collection(engine, collection.id, rename_to, owner=owner)
            st.rerun()
        except docs.DocumentsError as exc:
            st.error(str(exc))
    st.divider()
    st.markdown("**Embedding model**")
    st.warning(
        f"Changing the embedding model re-indexes the collection: all {len(store)} chunks "
        "are embedded again with the new model (files do not need to be uploaded again)."
    )
    re_kind = st.radio(
        "New embeddings",
        list(KINDS),
        format_func=KINDS.get,
        key="docs_reembed_kind",
        horizontal=True,
    )
    re_model = st.text_input(
        "New embedding model",
        key="docs_reembed_model",
        placeholder=BUNDLED_MODEL if re_kind == "local" else "emb12345",
    )
    if st.button("Re-index with this model", key="docs_reembed", disabled=busy):
        spec = EmbedSpec(re_kind, (re_model or "").strip())
        if not spec.model or spec == collection.embed:
            st.error("Enter an embedding model different from the current one.")
        else:
            uploads.queue_reembed(worker, collection.id, spec, owner=owner, api_key=state.api_key())
            st.rerun()
    st.divider()
    if not page.confirm_delete:
        if st.button("🗑 Delete collection", key="docs_delete"):
            page.confirm_delete = True
            st.rerun()
    else:
        waiting = " Files still queued or being indexed are canceled." if busy else ""
        st.error(
            f"Delete '{plain_text(collection.name)}', its {len(files)} file(s), index and "
            f"history?{waiting}"
        )
        yes, no = st.columns(2)
        if yes.button("Yes, delete", key="docs_delete_confirm", type="primary"):
            if not worker.cancel_collection(collection.id):
                st.error("A file is still being saved into this collection: try again in a moment.")
            else:
                worker.dismiss(collection.id)
                ui.drop_store(collection.id, store_dir)
                docs.delete_collection(engine, config.data_dir, collection.id, owner=owner)
                page.confirm_delete = False
                select_collection(next((c for c in collections if c != collection.id), None))
                st.rerun()
        if no.button("Cancel", key="docs_delete_cancel"):
            page.confirm_delete = False
            st.rerun()

# --- files -------------------------------------------------------------------------------------
jobs_shown = bool(worker.jobs(collection.id))
with st.expander(f"Files ({len(files)})", expanded=not files or jobs_shown, icon="📁"):
    upload_version = page.upload_version
    files_in = st.file_uploader(
        "Add files: PDF, DOCX, TXT, Markdown, HTML, CSV, JSON",
        accept_multiple_files=True,
        key=f"docs_upload_{upload_version}",
        help=f"Up to {max_bytes // (1024 * 1024)} MB each. A file already in the collection "
        "(same content) is recognised and skipped.",
    )
    if st.button("Index files", key="docs_index", type="primary", disabled=not files_in):
        uploads.queue_uploads(
            worker,
            collection.id,
            [(f.name, f.getvalue()) for f in files_in],
            owner=owner,
            max_bytes=max_bytes,
            api_key=state.api_key(),
        )
        page.upload_version = upload_version + 1
        st.rerun()

    # One slot whether or not there are results, so what follows keeps its place from one
    # collection to the next: a run that opens another collection redraws "No files…" in place
    # instead of drawing a second box while the previous collection's one is still on screen.
    jobs_box = st.container()
    if jobs_shown:
        with jobs_box:
            st.fragment(run_every=ui.POLL_SECONDS if busy else None)(ui.render_jobs)(
                worker, collection.id, busy
            )
            if not busy and st.button("Clear these results", key="docs_dismiss"):
                worker.dismiss(collection.id)
                st.rerun()

    for info in files:
        name_col, meta_col, remove_col = st.columns([4, 4, 1], vertical_alignment="center")
        name_col.markdown(f"📄 **{plain_text(info.filename)}**")
        meta_col.caption(ui.file_facts(info.file_type, info.size_bytes, info.pages, info.chunks))
        if info.warning:
            name_col.caption(f"⚠️ {plain_text(info.warning)}")
        if remove_col.button("Remove", key=f"docs_remove_{info.sha256[:12]}", disabled=busy):
            docs.remove_file(engine, store, collection.id, info.sha256, owner=owner)
            originals.remove(engine, config.data_dir, collection.id, info.sha256, owner=owner)
            st.rerun()
    if not files and not busy:
        st.info("No files in this collection yet.")

# --- questions ---------------------------------------------------------------------------------
st.subheader("Ask")
mode_col, rerank_col = st.columns([3, 2], vertical_alignment="bottom")
mode = mode_col.radio(
    "Search",
    list(MODES),
    index=list(MODES).index(DEFAULT_MODE),
    format_func=MODES.get,
    key="docs_mode",
    horizontal=True,
    help="Vectors find passages that mean the same; keywords (BM25) find the ones that use the "
    "question's words; hybrid merges both. Reranking re-reads the best candidates "
    "together with the question (a Baseten reranker deployment or a local cross-encoder).",
)
rerank_spec = None
if mode == "rerank":
    with rerank_col.popover("Reranker", width="stretch"):
        rerank_kind = st.radio(
            "Reranker", list(RERANK_KINDS), format_func=RERANK_KINDS.get, key="docs_rerank_kind"
        )
        demo_reranker = DEMO_RERANKER_ID if state.demo_active() else ""
        rerank_model = st.text_input(
            "Reranker model id" if rerank_kind == "baseten" else "Cross-encoder model name",
            value=demo_reranker if rerank_kind == "baseten" else DEFAULT_LOCAL_MODEL,
            key=f"docs_rerank_model_{rerank_kind}",
            placeholder="rrk12345" if rerank_kind == "baseten" else DEFAULT_LOCAL_MODEL,
        )
    rerank_spec = RerankSpec(rerank_kind, rerank_model or "")
    rerank_col.caption(
        rerank_spec.label if rerank_spec.model.strip() else "Name a reranker to rerank with."
    )
k_col, cut_col, clear_col = st.columns([2, 2, 1], vertical_alignment="bottom")
top_k = k_col.slider("Passages to retrieve (top k)", 1, 20, 4, key="docs_top_k")
cutoff = cut_col.slider(
    "Similarity cutoff",
    0.0,
    1.0,
    0.3,
    0.05,
    key="docs_cutoff",
    help="Vector similarity a passage needs; passages the keyword search "
    "found are kept whatever their similarity.",
)
records = docs.history(engine, collection.id, owner=owner)
if clear_col.button("Clear history", key="docs_clear_history", disabled=not records):
    docs.clear_history(engine, collection.id, owner=owner)
    st.rerun()
context = ui.SourceContext(
    lambda sha256, cid=collection.id: originals.load(
        engine, config.data_dir, cid, sha256, owner=owner
    ),
    store.file_nodes,
)
for record in records:
    ui.render_record(record, context)
if not records:
    st.caption("Ask a question about this collection's files below.")

blocked = state.target_problem()  # e.g. a dedicated model id that is not valid yet
if not blocked and rerank_spec is not None and not rerank_spec.model.strip():
    blocked = "Name a reranker under Reranker above, or choose another search."
if blocked and files:
    st.caption(f"✋ Asking is off: {blocked}")
question = st.chat_input(
    f"Ask about '{collection.name}'", key="docs_question", disabled=not files or bool(blocked)
)
if question and not blocked:
    persona = personas.get_persona(
        engine, state.persona_id(), owner=owner
    ) or personas.default_persona(engine)
    ui.answer_question(
        engine,
        collection,
        store,
        embedder,
        question,
        persona,
        top_k=top_k,
        cutoff=cutoff,
        context=context,
        search=ui.SearchChoice(mode, rerank_spec),
    )
    st.rerun()
