"""The extractive summary: verbatim key points citing their messages, in any language."""

from __future__ import annotations

import msgspec
import networkx as nx
from sklearn.feature_extraction.text import TfidfVectorizer

from runtime.analysis import quotes
from runtime.analysis.summaries import summary
from runtime.analysis.summaries.sentences import split
from tests.runtime.analysis.summaries.transcripts import Transcript, guide

SAID = [
    "I started when a colleague shared a board with me. The board had our whole launch plan.",
    "Honestly the launch plan board was the reason I stayed. ok. I check the board daily.",
    "I would change the notifications. They ping me for every small comment on the board.",
    "The mobile app is slow to open on my phone. It takes ages.",
    "Pricing is fine for our team.",
    "Another thing: the search never finds old comments, which is painful for audits.",
]


def _transcript(said: list[str]) -> Transcript:
    t = Transcript()
    for n, text in enumerate(said):
        item = "Q1" if n < 2 else "Q2"
        t.ask(item, "Tell me more?")
        t.say(item, text)
    return t


def test_key_points_are_verbatim_sentences_of_the_cited_messages() -> None:
    t = _transcript(SAID)
    made = summary.summarise(t.answers(), t.coverage(guide()))
    assert 1 <= len(made.key_points) <= summary.MAX_KEY_POINTS
    texts = {r["id"]: (r["content"], r["item_id"]) for r in t.rows if r["role"] == "respondent"}
    for point in made.key_points:
        for message_id in point.message_ids:
            content, item_id = texts[message_id]
            found = quotes.find(point.text, message_id, content)
            assert found is not None and found.method == "exact"
            assert point.text in content and point.text.startswith(found.text)
            assert point.item_id == item_id
    # Too short to be a key point: "ok." and "It takes ages."
    assert all(p.text not in ("ok.", "It takes ages.") for p in made.key_points)
    assert made.overview.startswith("Covered 2 of 3 guide items. Main points: ")
    # In the order they were said.
    order = [
        t.rows.index(next(r for r in t.rows if r["id"] == p.message_ids[0]))
        for p in made.key_points
    ]
    assert order == sorted(order)


def test_the_same_session_gives_the_same_bytes() -> None:
    t = _transcript(SAID)
    runs = [
        msgspec.json.encode(summary.summarise(t.answers(), t.coverage(guide())).key_points)
        for _ in range(2)
    ]
    assert runs[0] == runs[1]


def test_a_sentence_said_twice_cites_both_messages() -> None:
    again = "The search never finds old comments at all."
    t = _transcript([again, "ok", again, "The notifications ping me for every comment."])
    made = summary.summarise(t.answers(), t.coverage(guide()))
    cited = {p.text: p.message_ids for p in made.key_points}
    assert cited[again] == ["msg_2", "msg_6"]


def test_non_english_sessions_are_split_and_summarised() -> None:
    said = [
        "我是通过同事开始使用这个应用的。它帮助我们计划每周的工作\uff01",
        "通知太多了\uff0c每条评论都会提醒我。搜索功能也找不到旧的评论\uff1f",
        "Le tableau de lancement est la raison pour laquelle je suis resté. Vraiment.",
    ]
    t = _transcript(said)
    made = summary.summarise(t.answers(), t.coverage(guide()))
    assert made.key_points
    for point in made.key_points:
        content = next(r["content"] for r in t.rows if r["id"] == point.message_ids[0])
        assert point.text in [s.text for s in split(content)]


def test_a_session_with_nothing_substantive_has_no_key_point() -> None:
    t = _transcript(["ok", "no", "idk"])
    made = summary.summarise(t.answers(), t.coverage(guide()))
    assert made.key_points == []
    assert made.overview.endswith("No substantive answer yet.")


def test_a_very_long_sentence_is_cut_to_a_verbatim_prefix() -> None:
    long = " ".join(["word"] * 200) + "."
    t = _transcript([long])
    made = summary.summarise(t.answers(), t.coverage(guide()))
    (point,) = made.key_points
    assert len(point.text) <= summary.MAX_KEY_POINT_CHARS and long.startswith(point.text)


def test_pagerank_agrees_with_networkx() -> None:
    texts = [s for said in SAID for s in (x.text for x in split(said))]
    vectors = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4)).fit_transform(texts)
    similarity = (vectors @ vectors.T).tocsr()
    graph = nx.Graph()
    graph.add_nodes_from(range(len(texts)))
    coo = similarity.tocoo()
    for i, j, w in zip(coo.row, coo.col, coo.data, strict=True):
        if i < j:
            graph.add_edge(int(i), int(j), weight=float(w))
    expected = nx.pagerank(graph, weight="weight")
    got = summary.pagerank(similarity)
    assert max(abs(got[n] - expected[n]) for n in graph) < 1e-4
