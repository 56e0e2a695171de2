"""Snippet expansion is bounded in depth and size, with the chain of includes in the error."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import pytest

from floe.errors import SourceError
from renderer.content.snippets import MAX_DEPTH, SnippetSource, expand_snippets
from tests.conftest import Project


class CountingSnippets(Mapping[str, SnippetSource]):
    """Snippets that count how many times expansion looked one up: the work it did."""

    def __init__(self, snippets: dict[str, SnippetSource]):
        self.snippets, self.lookups = snippets, 0

    def __getitem__(self, name: str) -> SnippetSource:
        self.lookups += 1
        return self.snippets[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.snippets)

    def __len__(self) -> int:
        return len(self.snippets)


def fan_out(levels: int = 4, width: int = 20) -> dict[str, str]:
    """``width`` snippets per level, each including every snippet of the next level."""
    texts = {}
    for level in range(levels):
        for i in range(width):
            if level == levels - 1:
                body = f"Leaf text {i} of the last level, a sentence long enough to matter.\n" * 5
            else:
                body = "".join(f'{{% snippet "s{level + 1}-{j}" %}}\n' for j in range(width))
            texts[f"s{level}-{i}"] = body
    return texts


def sources(texts: dict[str, str]) -> dict[str, SnippetSource]:
    return {n: SnippetSource(n, f"content/snippets/{n}.md", t) for n, t in texts.items()}


def test_a_fan_out_fails_fast_naming_the_chain() -> None:
    snippets = CountingSnippets(sources(fan_out()))
    post = "Intro.\n\n" + "".join(f'{{% snippet "s0-{j}" %}}\n' for j in range(20))
    with pytest.raises(SourceError) as raised:
        expand_snippets(post, "content/posts/big.md", 5, snippets)
    [problem] = raised.value.problems
    assert problem.file == "content/posts/big.md"
    assert problem.line == 7  # the first line including the fan-out: where the chain starts
    assert "past 1,000,000 characters" in problem.message
    assert "(content/posts/big.md:7 → s0-0 → s1-" in problem.message
    # The whole expansion would look up 168,420 snippets (20 + 20² + 20³ + 20⁴).
    assert snippets.lookups < 5_000


def test_includes_nested_deeper_than_the_limit_are_refused() -> None:
    texts = {f"d{i}": f'Level {i}.\n{{% snippet "d{i + 1}" %}}\n' for i in range(MAX_DEPTH + 2)}
    texts[f"d{MAX_DEPTH + 2}"] = "Bottom.\n"
    with pytest.raises(SourceError) as raised:
        expand_snippets('{% snippet "d0" %}\n', "content/posts/deep.md", 4, sources(texts))
    [problem] = raised.value.problems
    chain = " → ".join(f"d{i}" for i in range(MAX_DEPTH + 1))
    assert problem.message == (
        f"snippets nested more than {MAX_DEPTH} deep (content/posts/deep.md:4 → {chain})"
    )
    # At the limit it expands.
    texts[f"d{MAX_DEPTH - 1}"] = "Bottom.\n"
    done = expand_snippets('{% snippet "d0" %}\n', "content/posts/deep.md", 4, sources(texts))
    assert "Bottom." in done.text


def test_the_build_reports_a_fan_out_with_its_chain(project: Project) -> None:
    for name, text in fan_out().items():
        project.write(f"content/snippets/{name}.md", text)
    project.post("big", body='{% snippet "s0-0" %}\n{% snippet "s0-1" %}')
    result = project.build()
    assert result.exit_code == 1, result.output
    assert "content/posts/big.md:6: expanding snippets goes past 1,000,000 characters" in (
        result.output
    )
    assert "content/posts/big.md:6 → s0-0 → s1-" in result.output
