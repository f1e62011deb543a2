"""Retrieval-augmented chat (`agent-rag`): passages and citations, the corpus and its search, the
retrieving proxy's update-context, the strategy through the evaluation harness and the store, and
the shipped benchmark (every gold answer stated in its source document)."""

from __future__ import annotations

import json
import re

import pytest

from ponder.agents.rag import AgentRag, ends_chat, rag_chat, shipped_corpus
from ponder.agents.retrieval import (
    Corpus,
    Passage,
    citations,
    doc_of,
    read_documents,
    recall_at_k,
    split_passages,
)
from ponder.details import RagDetails
from ponder.embeddings.scripted import ScriptedEmbedder
from ponder.errors import DataError
from ponder.eval.evaluate import Plan, evaluate
from ponder.models.scripted import ScriptedModel, Step
from ponder.store import Store
from ponder.tasks.answers import extract, same_answer
from ponder.tasks.rag_questions import load_benchmark
from ponder.types import Utterance


def words(n: int, word: str = "w") -> str:
    return " ".join(f"{word}{i}" for i in range(n))


# passages


def test_split_passages_merges_short_paragraphs_and_cuts_long_ones_between_sentences():
    long = f"{words(6, 'a')}. {words(6, 'b')}. {words(6, 'c')}."
    text = f"# Title\n\n{words(3, 'x')}\n\n{long}\n\n  \n{words(20, 'y')}\r\n\r\n{words(2, 'z')}"
    passages = split_passages("doc.md", text, max_words=13)
    assert [p.id for p in passages] == [f"doc.md#{i}" for i in range(1, 6)]
    assert all(p.doc == "doc.md" for p in passages)
    texts = [p.text for p in passages]
    assert texts[0] == f"# Title\n\n{words(3, 'x')}"  # a heading merged with the short paragraph after it
    assert texts[1] == f"{words(6, 'a')}. {words(6, 'b')}."  # cut between sentences
    assert texts[2] == f"{words(6, 'c')}."
    assert texts[3] == words(13, "y")  # a run-on paragraph cut between words
    assert texts[4] == f"{' '.join(words(20, 'y').split()[13:])}\n\n{words(2, 'z')}"
    assert all(len(t.split()) <= 13 for t in texts)


def test_split_passages_keeps_a_short_document_whole_and_a_blank_one_empty():
    assert split_passages("a.md", "One line.\nSecond line.") == [
        Passage("a.md#1", "a.md", "One line. Second line.")
    ]
    assert split_passages("a.md", " \n\n ") == []
    with pytest.raises(Exception, match="max_words"):
        split_passages("a.md", "x", max_words=0)


def test_citations_reads_bracketed_passage_ids_once_each_in_order():
    text = (
        "The day pass costs 11 crowns [fares.md#2], see also [lines.md#1, fares.md#2] and "
        "[rolling_stock.md#10]; not ids: [fares.md], [#3], (fares.md#4). The answer is 11."
    )
    assert citations(text) == ("fares.md#2", "lines.md#1", "rolling_stock.md#10")
    assert citations("The answer is 11.") == ()
    assert doc_of("rolling_stock.md#10") == "rolling_stock.md"


# the corpus


def test_a_missing_or_empty_folder_and_a_file_that_is_not_utf8_are_errors_naming_the_path(tmp_path):
    with pytest.raises(DataError, match=f"{tmp_path / 'nowhere'}: no such folder"):
        read_documents(tmp_path / "nowhere")
    (tmp_path / "notes.json").write_text("{}")
    with pytest.raises(DataError, match="holds no documents"):
        Corpus.from_folder(tmp_path, ScriptedEmbedder())
    (tmp_path / "a.md").write_text("Fine text.")
    (tmp_path / "b.txt").write_bytes(b"caf\xe9 au lait")
    with pytest.raises(DataError, match=re.escape(f"{tmp_path / 'b.txt'}:1: not UTF-8")):
        Corpus.from_folder(tmp_path, ScriptedEmbedder())


def test_documents_are_read_sorted_by_name_md_and_txt_only(tmp_path):
    (tmp_path / "b.txt").write_text("Bee.")
    (tmp_path / "a.md").write_text("Ay.")
    (tmp_path / "c.json").write_text("{}")
    assert list(read_documents(tmp_path)) == ["a.md", "b.txt"]


def small_corpus(tmp_path, embedder=None):
    docs = {
        "fares.md": "A day pass costs eleven crowns.\n\nChildren ride free with an adult.",
        "lines.md": "The amber line has fourteen stations.\n\nThe fern line climbs to the village.",
        "staff.md": "The depot foreman is called Brenn.\n\nThe safety officer is called Holm.",
    }
    for name, text in docs.items():
        (tmp_path / name).write_text(text)
    return Corpus.from_folder(tmp_path, embedder or ScriptedEmbedder(), max_words=8)


async def test_search_ranks_the_passage_sharing_the_query_words_first_and_embeds_the_corpus_once(tmp_path):
    embedder = ScriptedEmbedder()
    corpus = small_corpus(tmp_path, embedder)
    assert len(corpus) == 6
    (best, score), *_ = await corpus.search("who is the depot foreman", 3)
    assert best.id == "staff.md#1" and 0 < score <= 1.0 + 1e-9
    ranked = [p.id for p, _ in await corpus.search("who is the depot foreman", 6)]
    assert sorted(ranked) == sorted(p.id for p in corpus.passages)
    later = [p.id for p, _ in await corpus.search("who is the depot foreman", 2, skip=2)]
    assert later == ranked[2:4]
    passage_batches = [b for b in embedder.calls if len(b) == 6]
    assert len(passage_batches) == 1  # the passages were embedded once, each query on its own


async def test_recall_at_k_counts_questions_whose_source_is_among_the_top_k(tmp_path):
    corpus = small_corpus(tmp_path)
    questions = [("who is the depot foreman", "staff.md"), ("who is the depot foreman", "fares.md")]
    assert await recall_at_k(corpus, questions, 1) == 0.5
    assert await recall_at_k(corpus, questions, 6) == 1.0
    assert await recall_at_k(corpus, [], 3) == 0.0


# the conversation


def proxy_ids(message: str) -> list[str]:
    return re.findall(r"^\[([^\]]+#\d+)\]$", message, flags=re.M)


async def test_update_context_gets_the_next_passages_and_a_cited_answer_ends_the_chat(tmp_path):
    corpus = small_corpus(tmp_path)
    model = ScriptedModel(
        [
            Step(["UPDATE CONTEXT"]),
            Step(["The foreman is Brenn [staff.md#1]. The answer is Brenn."]),
        ]
    )
    chat, details = await rag_chat(
        "who is the depot foreman", model, corpus, passages=2, max_turns=3, source="staff.md"
    )
    model.assert_done()
    proxy = [m.content for m in chat.messages if m.speaker == "retrieve_proxy"]
    assert len(proxy) == 2
    first, second = proxy_ids(proxy[0]), proxy_ids(proxy[1])
    assert len(first) == 2 and len(second) == 2 and not set(first) & set(second)
    assert "Question: who is the depot foreman" in proxy[1]
    assert details.retrieved == (*first, *second)
    assert details.cited == ("staff.md#1",) and details.cited_source is True
    assert chat.stopped_by == "termination message" and details.messages == 4
    assert model.requests[1].messages[-1].content == proxy[1]  # the assistant saw the new passages


async def test_a_reply_without_an_answer_also_gets_more_passages_until_none_are_left(tmp_path):
    corpus = small_corpus(tmp_path)
    model = ScriptedModel([Step(["I am not sure."]) for _ in range(2)])
    chat, details = await rag_chat("depot foreman", model, corpus, passages=3, max_turns=5)
    model.assert_done()
    assert chat.stopped_by == "no reply"  # all 6 passages were given, in two batches
    assert len(details.retrieved) == 6 and len(set(details.retrieved)) == 6
    assert details.cited == () and details.source is None and details.cited_source is None


async def test_max_turns_ends_the_chat_and_the_last_assistant_message_gives_the_citations(tmp_path):
    corpus = small_corpus(tmp_path)
    model = ScriptedModel([Step(["UPDATE CONTEXT [fares.md#1]"])])
    chat, details = await rag_chat("day pass", model, corpus, passages=1, max_turns=1, source="lines.md")
    assert chat.stopped_by == "max turns" and details.retrieved == ("fares.md#1",)
    assert details.cited == ("fares.md#1",) and details.cited_source is False


def test_the_chat_ends_at_the_assistants_stated_answer_or_terminate_only():
    from ponder.agents.agent import ChatMessage

    assert ends_chat(ChatMessage("assistant", "It is 11 [fares.md#1]. The answer is 11."))
    assert ends_chat(ChatMessage("assistant", "TERMINATE"))
    assert not ends_chat(ChatMessage("assistant", "Update context please. The answer is unclear."))
    assert not ends_chat(ChatMessage("assistant", "I do not know."))
    assert not ends_chat(ChatMessage("retrieve_proxy", "The answer is 11."))


# the strategy and the benchmark


async def test_agent_rag_through_the_harness_stores_its_rag_details(tmp_path, session_of, data_dir):
    reply = "The cooperative was founded in Oskarvik [history.md#1]. The answer is Oskarvik."
    model = ScriptedModel(
        [
            Step(
                [reply],
                expect=lambda r: (
                    "In which town was the Velmark Valley Rail Cooperative founded?" in r.messages[-1].content
                    and r.max_tokens == 256
                    and r.messages[0].role == "system"
                ),
            )
        ]
    )
    store = tmp_path / "s.sqlite"
    async with session_of(model, store=store) as session:
        (outcome,) = await evaluate(
            session, "ponder-rag", [Plan("agent-rag", {"embedder": "scripted"})], limit=1, data_dir=data_dir
        )
    model.assert_done()
    assert outcome.progress.correct == 1
    with Store(store, readonly=True) as s:
        (result,) = s.results(outcome.run_id)
    assert result.task.id == "ponder-rag/founding-town"
    assert result.answer == "Oskarvik" and result.correct is True
    details = result.details
    assert isinstance(details, RagDetails)
    assert details.source == "history.md" and details.cited == ("history.md#1",)
    assert details.cited_source is True and len(details.retrieved) == 3
    assert details.stopped_by == "termination message" and details.messages == 2
    said = [e.speaker for e in result.trace if isinstance(e, Utterance)]
    assert said == ["retrieve_proxy", "assistant"]
    assert result.compute.calls == 1


def test_the_strategy_is_built_from_the_registry_with_its_options():
    from ponder.strategies.registry import build_strategy

    strategy = build_strategy("agent-rag", passages=2, embedder="scripted", max_turns=4)
    assert isinstance(strategy, AgentRag)
    assert (strategy.passages, strategy.max_turns, strategy.embedder) == (2, 4, "scripted")
    config = strategy.config()
    assert set(config["templates"]) == {"rag_system.j2", "rag_open.j2", "rag_update.j2"}
    with pytest.raises(Exception, match="passages"):
        AgentRag(passages=0)


def test_the_corpus_folder_is_the_given_one_else_the_data_folders_else_the_shipped_one(tmp_path):
    assert AgentRag().folder() == shipped_corpus()
    assert AgentRag(data_dir=tmp_path).folder() == shipped_corpus()
    (tmp_path / "rag_corpus" / "docs").mkdir(parents=True)
    assert AgentRag(data_dir=tmp_path).folder() == tmp_path / "rag_corpus" / "docs"
    assert AgentRag(corpus=str(tmp_path), data_dir=tmp_path).folder() == tmp_path
    assert "data_dir" not in AgentRag(data_dir=tmp_path).config()


def test_the_shipped_benchmark_has_20_questions_over_10_documents():
    tasks = load_benchmark("ponder-rag", None)
    documents = read_documents(shipped_corpus())
    assert len(tasks) == 20 and len(documents) == 10
    assert {t.meta["source"] for t in tasks} == set(documents)
    for text in documents.values():
        assert 150 <= len(text.split()) <= 300


def test_every_gold_answer_is_stated_in_its_source_document_and_extractable():
    documents = read_documents(shipped_corpus())
    for task in load_benchmark("ponder-rag", None):
        source = documents[task.meta["source"]]
        assert re.search(rf"\b{re.escape(task.answer)}\b", source, flags=re.I), task.id
        stated = extract(f"It says so [{task.meta['source']}#1]. The answer is {task.answer}.", task.kind)
        assert stated.explicit and same_answer(stated.value, task.answer, task.kind), task.id


def test_a_malformed_question_line_is_an_error_naming_the_file_line_and_field(tmp_path):
    folder = tmp_path / "rag_corpus"
    folder.mkdir()
    good = {"id": "a", "question": "Q?", "answer": "1", "kind": "number", "source": "a.md"}
    lines = [good, {**good, "id": "b", "answer": ""}]
    (folder / "questions.jsonl").write_text("\n".join(json.dumps(row) for row in lines))
    with pytest.raises(DataError, match=r"questions\.jsonl:2: field 'answer'"):
        load_benchmark("ponder-rag", None, tmp_path)
    lines[1] = {**good, "id": "b", "kind": "choice"}
    (folder / "questions.jsonl").write_text("\n".join(json.dumps(row) for row in lines))
    with pytest.raises(DataError, match=r"questions\.jsonl:2: field 'kind'"):
        load_benchmark("ponder-rag", None, tmp_path)
    lines[1] = good
    (folder / "questions.jsonl").write_text("\n".join(json.dumps(row) for row in lines))
    with pytest.raises(DataError, match=r"questions\.jsonl:2: field 'id' repeats"):
        load_benchmark("ponder-rag", None, tmp_path)


@pytest.mark.live
async def test_live_retrieval_finds_the_source_and_the_embedded_model_replies():
    from ponder.models import get_model

    task = next(t for t in load_benchmark("ponder-rag", None) if t.id == "ponder-rag/day-pass")
    corpus = Corpus.from_folder(shipped_corpus(), "local")
    chat, details = await rag_chat(
        task.question, get_model("local"), corpus, max_tokens=128, max_turns=1, source=task.meta["source"]
    )
    assert any(doc_of(pid) == "fares.md" for pid in details.retrieved)
    assert [m.speaker for m in chat.messages][:2] == ["retrieve_proxy", "assistant"]
    assert chat.messages[1].content.strip()
