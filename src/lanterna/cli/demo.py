"""``lanterna demo``: a small traced RAG-like app, then the trace it produced as a tree."""

from __future__ import annotations

import argparse
import shlex
from typing import Any

import lanterna
from lanterna.cli.errors import CliError
from lanterna.cli.render import render_tree
from lanterna.cli.stores import add_uri_argument, answering, location, open_store
from lanterna.entities import Document, SpanType
from lanterna.entities.span import SpanAttributeKey

LLM_CLIENT: list[Any] = []  # the openai client, while the demo runs

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


def call_llm(question: str, documents: list[Document], llm: Any) -> str:
    """A real ``openai`` client call (to a local OpenAI-compatible server), auto-traced."""
    context = " ".join(d.page_content for d in documents)
    reply = llm.chat.completions.create(
        model="demo-model",
        messages=[
            {"role": "system", "content": f"Answer from the context. Context: {context}"},
            {"role": "user", "content": question},
        ],
        max_tokens=40,
    )
    return str(reply.choices[0].message.content)


def call_llm_offline(question: str, documents: list[Document]) -> str:
    """Without the ``openai`` package: a span shaped the way auto-tracing records a call."""
    messages = [
        {"role": "system", "content": "Answer from the context. Context: "
         + " ".join(d.page_content for d in documents)},
        {"role": "user", "content": question},
    ]
    with lanterna.start_span("Completions", span_type=SpanType.CHAT_MODEL) as span:
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
    if LLM_CLIENT:
        answer = call_llm(question, documents, LLM_CLIENT[0])
    else:
        answer = call_llm_offline(question, documents)
    return {"answer": answer, "weather": weather["forecast"]}


def run(args: argparse.Namespace) -> int:
    question = "What does lanterna do with tracing?"
    store = open_store(args, must_exist=False)
    with answering(store):
        store.engine()  # an unreachable store is reported before the demo runs
    lanterna.set_tracking_uri(store.uri)
    try:
        import openai
    except ImportError:
        print("(openai is not installed: the LLM call is simulated; "
              "pip install 'lanterna[openai]' for a real client call)\n")
        result = answer_question(question, city="Lisbon")
    else:
        from lanterna.testing.openai_server import FakeOpenAIServer

        with FakeOpenAIServer() as server, lanterna.openai.autolog():
            llm = openai.OpenAI(base_url=server.base_url, api_key="demo", max_retries=0)
            LLM_CLIENT.append(llm)
            try:
                result = answer_question(question, city="Lisbon")
            finally:
                LLM_CLIENT.clear()
    trace_id = lanterna.get_last_active_trace_id()
    print(f"answer: {result['answer']}\n")
    # Read the trace back from the store (not from memory) to show what was kept.
    with answering(store):
        stored = lanterna.search_traces(
            filter_string=f"trace.request_id = '{trace_id}'", return_type="list"
        ) if trace_id else []
    if not stored:
        raise CliError(f"the demo trace was not stored in {location(store)}")
    print(f"stored in {location(store)}:\n")
    print(render_tree(stored[0]))
    if not store.memory:
        again = "" if args.uri is None else f" --uri {shlex.quote(args.uri)}"
        print(f"\nlist the stored traces with: lanterna traces list{again}")
        print(f"see this trace in the web UI: lanterna ui{again}  (then open "
              f"http://127.0.0.1:5000/#/trace/{trace_id})")
    return 0


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser("demo", help="run a traced demo app and print its trace")
    add_uri_argument(parser)
    parser.set_defaults(func=run)
