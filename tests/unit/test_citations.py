"""Citation numbers in answers: valid ones link to their source, others are dropped."""

from __future__ import annotations

from chatapp.services import citations


def test_numbers_are_listed_once_in_order_of_first_use_and_unknown_ones_ignored() -> None:
    text = "Rent is due on the 1st [2]. Keys are at reception [1][2]. See also [7] and [0]."
    assert citations.cited_numbers(text, count=2) == [2, 1]


def test_a_number_that_matches_no_source_is_dropped_with_its_space() -> None:
    text = "Rent is due on the 1st [3]. Keys are at reception [1]."
    assert (
        citations.drop_unknown(text, count=2)
        == "Rent is due on the 1st. Keys are at reception [1]."
    )


def test_a_markdown_link_and_an_escaped_bracket_are_not_citations() -> None:
    text = r"See [1](http://example.test) and \[9] but cite [1]."
    assert citations.cited_numbers(text, count=1) == [1]
    assert (
        citations.drop_unknown(text, count=0) == r"See [1](http://example.test) and \[9] but cite."
    )


def test_each_valid_number_becomes_a_link_to_its_source_with_the_citation_as_title() -> None:
    linked = citations.link_citations(
        "Oslo [1][2], not Rome [5].",
        count=2,
        target=lambda n: f"#src-{n}",
        title=lambda n: ["zoo.pdf, page 2", 'say "hi".md'][n - 1],
    )
    assert linked == (
        'Oslo [\\[1\\]](#src-1 "zoo.pdf, page 2")[\\[2\\]](#src-2 "say \\"hi\\".md"), not Rome.'
    )


def test_an_answer_without_sources_keeps_no_citation() -> None:
    assert citations.link_citations("Nothing [1].", 0, str, str) == "Nothing."
