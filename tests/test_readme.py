"""The README's Python examples run as written, and the values their comments show are the
values they produce (so the documentation stays true).

A one-line statement whose comment starts with a value, or holds one in parentheses, is
checked: ``F.conv2d(x, w, b).shape  # (8, 6, 28, 28): W' = W - K + 1`` must give
(8, 6, 28, 28); ``arith.conv_output_size(32, 5)  # 28: ...`` must give 28; an assignment or
an expression that gives an array is compared through its shape
(``y = F.conv2d(x, w, stride=2)  # (8, 6, 14, 14)``); a ``print(...)`` whose output is one
line must print what its comment begins with.
"""

import ast
import contextlib
import io
import pathlib
import re
import tokenize

import pytest

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def _comments(source: str) -> dict[int, str]:
    """line number -> the text of the comment on that line."""
    tokens = tokenize.generate_tokens(io.StringIO(source).readline)
    return {t.start[0]: t.string.lstrip("#").strip() for t in tokens
            if t.type == tokenize.COMMENT}


def shown_value(comment: str):
    """The value a comment shows: a leading int, or the first (...) group that is a Python
    literal; None if it shows none."""
    lead = re.match(r"(\d+)(?::|$|\s)", comment)
    if lead:
        return int(lead.group(1))
    for start in (i for i, c in enumerate(comment) if c == "("):
        depth = 0
        for end in range(start, len(comment)):
            depth += {"(": 1, ")": -1}.get(comment[end], 0)
            if depth == 0:
                try:
                    return ast.literal_eval(comment[start:end + 1])
                except (ValueError, SyntaxError):
                    break
    return None


def _is_print(stmt) -> bool:
    return (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call)
            and getattr(stmt.value.func, "id", None) == "print")


def run_block(source: str, name: str) -> list[tuple[int, object, object]]:
    """Run `source` statement by statement; return (line, shown, actual) for each checked
    statement."""
    comments = _comments(source)
    namespace: dict = {}
    checked = []
    for stmt in ast.parse(source).body:
        code = compile(ast.Module([stmt], type_ignores=[]), name, "exec")
        shown = None
        one_line = stmt.lineno == stmt.end_lineno and stmt.lineno in comments
        if one_line and _is_print(stmt):
            # print(...)  # what it prints: a one-line output must begin the comment
            output = io.StringIO()
            with contextlib.redirect_stdout(output):
                exec(code, namespace)
            printed = output.getvalue().strip()
            if printed and "\n" not in printed:
                checked.append((stmt.lineno, comments[stmt.lineno][:len(printed)], printed))
            continue
        if one_line:
            shown = shown_value(comments[stmt.lineno])
        if shown is None or not isinstance(stmt, (ast.Expr, ast.Assign)):
            exec(code, namespace)
            continue
        if isinstance(stmt, ast.Expr):
            actual = eval(compile(ast.Expression(stmt.value), name, "eval"), namespace)
        else:
            exec(code, namespace)
            actual = namespace[stmt.targets[0].id]
        if hasattr(actual, "shape") and isinstance(shown, tuple) and not isinstance(actual,
                                                                                   tuple):
            actual = tuple(actual.shape)
        checked.append((stmt.lineno, shown, actual))
    return checked


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_example_runs_and_shows_true_values(index):
    for line, shown, actual in run_block(BLOCKS[index], f"README.md[python block {index}]"):
        assert actual == shown, f"python block {index}, line {line}: shows {shown}, " \
                                f"gives {actual}"


def test_the_readme_shows_values_to_check():
    # the check above is not vacuous: the README's examples show this many values
    checked = sum(len(run_block(b, "README")) for b in BLOCKS)
    assert checked >= 15


def test_a_wrong_value_in_a_comment_is_caught():
    # (a mismatch is reported as (line, shown, actual); the test above asserts they agree)
    assert run_block("x = 2 + 3\n(1 + 1)  # 3: wrong\n", "t") == [(2, 3, 2)]
    assert shown_value("asymmetric (before, after) padding: (8, 6, 31, 31)") == (8, 6, 31, 31)
    assert shown_value("28: a 5x5 filter") == 28
    assert shown_value("the readable reference") is None
