"""``lanterna demo``: a small traced RAG-like app, then the trace it produced as a tree."""

from __future__ import annotations

import argparse
from typing import Any

import lanterna
from lanterna.cli.render import render_tree
from lanterna.entities import Document, SpanType
from lanterna.entities.span import SpanAttributeKey

KNOWLEDGE = {
    "lanterna": "lanterna records every LLM call, tool and retrieval of your app as a trace.",
    "tracing": "A trace is a tree of spans: each span is one step with inputs and outputs.",
    "sqlite": "By default traces are kept in ./lanterna.db, an SQLite file in WAL mode.",
}


@lanterna.trace(span_type=SpanType.RETRIEVER)
def retrieve(query: str, k: int = 2) -> list[Document]:
    words = {w.strip("?.,!").lower() for w in query.split()}
    ranked = sorted(KNOWLEDGE, key=lambda key: key not in words)
    return [
        Document(page_content=KNOWLEDGE[key], metadata={"doc_uri": f"kb/{key}.md", "rank": i},
                 id=f"doc-{key}")
        for i, key in enumerate(ranked[:k])
    ]


@lanterna.trace(span_type=SpanType.TOOL)
def lookup_weather(city: str) -> dict[str, Any]:
    if city.lower() == "atlantis":
        raise LookupError(f"no weather station in {city}")
    return {"city": city, "forecast": "clear", "celsius": 21}


def call_llm(question: str, documents: list[Document]) -> str:
    """A stand-in LLM call recorded the way auto-tracing records one."""
    messages = [
        {"role": "system", "content": "Answer from the context. Context: "
         + " ".join(d.page_content for d in documents)},
        {"role": "user", "content": question},
    ]
    with lanterna.start_span("chat_completion", span_type=SpanType.CHAT_MODEL) as span:
        span.set_inputs({"messages": messages, "model": "demo-model"})
        answer = documents[0].page_content if documents else "I don't know."
        prompt_tokens = sum(len(m["content"].split()) for m in messages)
        completion_tokens = len(answer.split())
        span.set_attribute(SpanAttributeKey.CHAT_USAGE, {
            "input_tokens": prompt_tokens,
            "output_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        })
        span.set_outputs({"choices": [{"message": {"role": "assistant", "content": answer}}]})
    return answer


@lanterna.trace(span_type=SpanType.CHAIN)
def answer_question(question: str, city: str) -> dict[str, Any]:
    documents = retrieve(question)
    try:
        weather = lookup_weather("Atlantis")
    except LookupError:  # the handled exception: recorded on the TOOL span, the app goes on
        weather = lookup_weather(city)
    answer = call_llm(question, documents)
    return {"answer": answer, "weather": weather["forecast"]}


def run(args: argparse.Namespace) -> int:
    result = answer_question("What does lanterna do with tracing?", city="Lisbon")
    trace_id = lanterna.get_last_active_trace_id()
    print(f"answer: {result['answer']}\n")
    trace = lanterna.get_trace(trace_id) if trace_id else None
    if trace is None:
        print("the demo trace was not recorded")
        return 1
    print(render_tree(trace))
    return 0


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser("demo", help="run a traced demo app and print its trace")
    parser.set_defaults(func=run)
