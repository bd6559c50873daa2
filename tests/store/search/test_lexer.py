from __future__ import annotations

import pytest

from lanterna.exceptions import InvalidFilterError
from lanterna.store.search.lexer import NamePart, Token, tokenize


def kinds(source: str) -> list[str]:
    return [t.kind for t in tokenize(source)]


def values(source: str) -> list[object]:
    return [t.value for t in tokenize(source)[:-1]]


def test_empty_and_blank_input_is_just_eof() -> None:
    assert tokenize("") == [Token("EOF", "", 0)]
    assert tokenize(" \t\n ") == [Token("EOF", "", 4)]


def test_every_token_keeps_its_source_text_and_position() -> None:
    tokens = tokenize("tag.k IN ('a', 2)")
    assert [(t.kind, t.text, t.position) for t in tokens] == [
        ("IDENT", "tag.k", 0),
        ("KEYWORD", "IN", 6),
        ("LPAREN", "(", 9),
        ("STRING", "'a'", 10),
        ("COMMA", ",", 13),
        ("NUMBER", "2", 15),
        ("RPAREN", ")", 16),
        ("EOF", "", 17),
    ]


def test_dotted_names_keep_their_parts_and_positions() -> None:
    (name, _eof) = tokenize("span.attributes.llm_model")
    assert name.kind == "IDENT"
    assert name.parts == (
        NamePart("span", False, 0),
        NamePart("attributes", False, 5),
        NamePart("llm_model", False, 16),
    )


def test_backticks_quote_parts_that_contain_dots_spaces_and_backticks() -> None:
    (name, _eof) = tokenize("tag.`my.key with spaces`")
    assert name.parts == (NamePart("tag", False, 0), NamePart("my.key with spaces", True, 4))
    (name, _eof) = tokenize("`span.attributes`.`llm.model`")
    assert [(p.text, p.quoted) for p in name.parts] == [
        ("span.attributes", True),
        ("llm.model", True),
    ]
    (name, _eof) = tokenize("tag.`a``b`")
    assert name.parts[1].text == "a`b"
    (name, _eof) = tokenize("tag.`ключ-é`")
    assert name.parts[1].text == "ключ-é"


def test_plain_name_parts_after_a_dot_may_start_with_a_digit_or_be_non_ascii() -> None:
    (name, _eof) = tokenize("tag.2nd.ключ")
    assert [p.text for p in name.parts] == ["tag", "2nd", "ключ"]


@pytest.mark.parametrize(
    "word", ["AND", "and", "In", "NOT", "like", "ILike", "rlike", "is", "Null"]
)
def test_keywords_are_case_insensitive(word: str) -> None:
    (token, _eof) = tokenize(word)
    assert token.kind == "KEYWORD"
    assert token.value == word.upper()
    assert token.text == word


def test_keywords_inside_dotted_or_quoted_names_are_names() -> None:
    assert kinds("tag.in `and` andy ın") == ["IDENT", "IDENT", "IDENT", "IDENT", "EOF"]


@pytest.mark.parametrize(
    ("source", "value"),
    [
        ("'plain'", "plain"),
        ('"double"', "double"),
        ("''", ""),
        ("'it''s'", "it's"),
        ('"say ""hi"""', 'say "hi"'),
        ("'it\\'s'", "it's"),
        ('"a\\"b"', 'a"b'),
        ("'\"'", '"'),
        ('"\'"', "'"),
        ("'back\\\\slash'", "back\\slash"),
        ("'tab\\there\\nnew\\rline'", "tab\there\nnew\rline"),
        ("'100\\% a\\_b'", "100\\% a\\_b"),  # unknown escapes stay, for LIKE ... ESCAPE '\'
        ("'\\d+\\.\\w'", "\\d+\\.\\w"),  # and for RLIKE
        ("'%_'", "%_"),
        ("'ключ 日本語 🎉'", "ключ 日本語 🎉"),
        ("'a = b AND c'", "a = b AND c"),
    ],
)
def test_strings(source: str, value: str) -> None:
    (token, eof) = tokenize(source)
    assert (token.kind, token.value, token.text) == ("STRING", value, source)
    assert eof.position == len(source)


@pytest.mark.parametrize(
    ("source", "value"),
    [
        ("0", 0),
        ("42", 42),
        ("-7", -7),
        ("1.5", 1.5),
        ("-0.25", -0.25),
        (".5", 0.5),
        ("3.", 3.0),
        ("1e3", 1000.0),
        ("-2.5E-2", -0.025),
        ("1" * 100, int("1" * 100)),
    ],
)
def test_numbers(source: str, value: float) -> None:
    (token, _eof) = tokenize(source)
    assert token.kind == "NUMBER"
    assert token.value == value
    assert type(token.value) is type(value)


@pytest.mark.parametrize(
    ("source", "value"),
    [("=", "="), ("!=", "!="), ("<>", "!="), (">", ">"), (">=", ">="), ("<", "<"), ("<=", "<=")],
)
def test_operators(source: str, value: str) -> None:
    (token, _eof) = tokenize(source)
    assert (token.kind, token.value, token.text) == ("OP", value, source)


def test_operators_need_no_spaces() -> None:
    assert values("timestamp_ms>=-5") == [None, ">=", -5]
    assert kinds("a<>'x'") == ["IDENT", "OP", "STRING", "EOF"]


@pytest.mark.parametrize(
    ("source", "position", "token", "words"),
    [
        ("name = 'abc", 7, "'abc", "unterminated string"),
        ('name = "abc\\"', 7, '"abc\\"', "unterminated string"),
        ("name = 'abc\\", 7, "'abc\\", "unterminated string"),
        ("tag.`abc = 'x'", 4, "`abc = 'x'", "unterminated backtick"),
        ("tag.`` = 'x'", 4, "``", "empty backtick"),
        ("tag. = 'x'", 4, " ", "after '.'"),
        ("tag.", 4, "", "end of input after '.'"),
        ("name = 'x' ; drop", 11, ";", "unexpected character ';'"),
        ("name == 'x'", 6, "==", None),
        ("name = - 1", 7, "-", "unexpected character '-'"),
        ("timestamp_ms > 12abc", 15, "12a", "malformed number '12a'"),
        ("timestamp_ms > 1.2.3", 15, "1.2.", "malformed number"),
        ("timestamp_ms > 1e999", 15, "1e999", "number out of range"),
        ("timestamp_ms > " + "9" * 5000, 15, "9" * 5000, "number out of range"),
        ("name = 'x' !", 11, "!", "unexpected character '!'"),
    ],
)
def test_lexer_errors_name_the_token_and_its_position(
    source: str, position: int, token: str, words: str | None
) -> None:
    if words is None:  # '==' lexes as two '=' and is refused by the parser, not here
        assert kinds(source) == ["IDENT", "OP", "OP", "STRING", "EOF"]
        return
    with pytest.raises(InvalidFilterError) as info:
        tokenize(source)
    error = info.value
    assert error.position == position
    assert error.token == token
    assert words in error.message
    assert f"at position {position}" in error.message
    assert "expected" in error.message
    assert error.message.startswith("Invalid filter ")


def test_long_sources_are_cut_short_in_messages() -> None:
    with pytest.raises(InvalidFilterError) as info:
        tokenize("name = '" + "x" * 10_000)
    assert len(info.value.message) < 800
