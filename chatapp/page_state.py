"""What each page keeps between its runs, as one small typed record per page.

:mod:`chatapp.state` holds each record under one session-state key (the ``*_KEY`` names, which
tests use too) and hands it out with ``state.chat_page()``, ``state.documents_page()`` ...; a
page reads and sets its fields. The records have slots, so a misspelt field is an error, not a
new value nobody reads. Nothing here imports Streamlit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chatapp.services.capabilities import CapabilityReport
    from chatapp.services.compare import Comparison
    from chatapp.services.jobs import BatchReport
    from chatapp.services.load_sweep import Sweep, SweepRunner
    from chatapp.services.pricing import PriceSettings
    from chatapp.targets import Target

CHAT_KEY = "bc_chat"
DOCUMENTS_KEY = "bc_documents"
COMPARE_KEY = "bc_compare"
JOBS_KEY = "bc_jobs"
SHARED_KEY = "bc_shared"


@dataclass(slots=True)
class ChatPage:
    """The chat page and its sidebar."""

    #: The answer whose Stop was clicked: the next run lets the interrupted one save it.
    stopping: int | None = None
    #: The last question is being edited.
    editing: bool = False
    #: A conversation whose next answer is to be made (after Retry, Regenerate or an edit).
    pending: int | None = None
    #: Why the last images were not sent; shown until the next submission.
    image_refusal: str | None = None
    #: The conversation (or the new chat) the persona picker was last set for.
    persona_picker_for: int | str | None = None
    #: Personas imported (labels) and problems, shown once after the import's rerun.
    import_report: tuple[list[str], list[str]] | None = None
    #: The conversation whose deletion waits for a confirmation.
    confirm_delete: int | None = None


@dataclass(slots=True)
class DocumentsPage:
    """The documents page."""

    #: The selected collection.
    collection_id: str | None = None
    #: Where the collection picker moves at the top of the next run (after create or delete).
    move_picker_to: str | None = None
    #: The collection's Delete waits for a confirmation.
    confirm_delete: bool = False
    #: Counts finished uploads, so the uploader starts empty after each.
    upload_version: int = 0


@dataclass(slots=True)
class ComparePage:
    """The compare page: side by side, the load sweep and the capability checks."""

    #: The sides' last targets.
    targets: list[Target] | None = None
    #: The last comparison, and whether the offline demo answered it.
    last: Comparison | None = None
    last_demo: bool = False
    #: Likely cold starts are left out of the statistics.
    exclude_cold: bool = False
    #: The persona, prompt and runs per side last chosen (None: the defaults).
    persona: int | None = None
    prompt: str | None = None
    repeats: int = 3
    #: The load sweep: the last one, the one running, and its target.
    sweep: Sweep | None = None
    sweep_runner: SweepRunner | None = None
    sweep_target: Target | None = None
    #: The capability checks: their target, and the reports by target label.
    cap_target: Target | None = None
    capabilities: dict[str, CapabilityReport] = field(default_factory=dict)


@dataclass(slots=True)
class JobsPage:
    """The jobs page."""

    #: The last batch upload's report: (upload id, rows, report), kept while it is shown.
    batch_report: tuple[str, int, BatchReport] | None = None
    #: A cancel's outcome (a Streamlit message kind and its text), shown once.
    cancel_outcome: tuple[str, str] | None = None
    #: Results drawn by the page's full run; the jobs fragment reruns the app when it changes.
    results_drawn: int | None = None


@dataclass(slots=True)
class SharedChoices:
    """Choices several pages share."""

    #: Dedicated model ids the person said take images.
    dedicated_images: set[str] = field(default_factory=set)
    #: Prices the person set (None until a page asks for them).
    prices: PriceSettings | None = None
