"""HTML to plain text: safe on anything, readable on real descriptions."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from scanner.html import MAX_TEXT_CHARS, html_to_text, tidy_text, unescape_html


def test_script_and_style_are_dropped_with_their_content() -> None:
    markup = (
        "<style>p { color: red }</style><p>Hello</p>"
        "<script type='text/javascript'>steal(document.cookie)</script><p>world</p>"
    )

    assert html_to_text(markup) == "Hello\n\nworld"


def test_entities_are_decoded() -> None:
    assert html_to_text("<p>R&amp;D &ndash; caf&eacute; &#8364;60.000&nbsp;/ year &lt;3</p>") == (
        "R&D – café €60.000 / year <3"
    )


def test_list_items_become_lines() -> None:
    markup = "<p>You bring:</p><ul><li>Python</li><li>SQL <b>and</b> dbt</li></ul><p>Thanks</p>"

    assert html_to_text(markup) == "You bring:\n\n- Python\n- SQL and dbt\n\nThanks"


def test_nested_lists_and_breaks_keep_their_lines() -> None:
    markup = "<ol><li>one<ul><li>nested</li></ul></li><li>two<br>still two</li></ol>after"

    assert html_to_text(markup) == "- one\n- nested\n- two\nstill two\nafter"


def test_links_keep_their_text_and_drop_their_markup() -> None:
    assert html_to_text('Apply <a href="https://x.example/apply?a=1&amp;b=2">here</a>.') == (
        "Apply here."
    )


def test_greenhouse_escaped_content_is_unescaped_first() -> None:
    escaped = "&lt;p&gt;Salary: $120k&amp;ndash;150k&lt;/p&gt;&lt;script&gt;x()&lt;/script&gt;"

    assert html_to_text(unescape_html(escaped)) == "Salary: $120k–150k"


def test_markup_escaped_once_too_often_is_still_dropped() -> None:
    assert html_to_text("<p>ok</p>&lt;script&gt;alert(1)&lt;/script&gt;") == "ok"


def test_unclosed_and_nested_dropped_elements_do_not_leak() -> None:
    assert html_to_text("<svg><script>a()</script><title>t</title></svg>kept") == "kept"
    assert html_to_text("before<script>never closed") == "before"


def test_whitespace_is_collapsed_but_paragraphs_survive() -> None:
    markup = "<div>  a \t b\n c </div>\n\n\n<p>d</p><p></p><p></p><p>e</p>"

    assert html_to_text(markup) == "a b c\n\nd\n\ne"


def test_output_is_bounded_and_cut_at_a_word() -> None:
    text = html_to_text("<p>" + "word " * 10_000 + "</p>", limit=100)

    assert len(text) <= 100
    assert text.endswith("word…")
    assert len(html_to_text("x" * (MAX_TEXT_CHARS * 2))) <= MAX_TEXT_CHARS


def test_tidy_text_leaves_plain_text_alone_apart_from_spacing() -> None:
    assert tidy_text("a  <b> c\r\n\r\n\r\nd ") == "a <b> c\n\nd"


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_any_text_converts_without_raising_or_leaking_script(markup: str) -> None:
    text = html_to_text(markup)

    assert "<script" not in text.lower()
    assert len(text) <= MAX_TEXT_CHARS


_TAGS = st.sampled_from(
    ["p", "div", "ul", "li", "script", "SCRIPT", "style", "b", "a", "br", "svg", "scr", "ipt"]
)
_PIECES = st.one_of(
    _TAGS.map(lambda tag: f"<{tag}>"),
    _TAGS.map(lambda tag: f"</{tag}>"),
    _TAGS.map(lambda tag: f"&lt;{tag}&gt;"),
    st.sampled_from(["<", ">", "&", "&amp;", "&lt;", "<!--", "-->", "<![CDATA[", "'", '"']),
    st.text(max_size=5),
)


@settings(max_examples=500, deadline=None)
@given(st.lists(_PIECES, max_size=40).map("".join))
def test_tag_soup_converts_without_raising_or_leaking_script(markup: str) -> None:
    text = html_to_text(markup)

    assert "<script" not in text.lower()
    assert html_to_text(unescape_html(markup)).lower().count("<script") == 0
