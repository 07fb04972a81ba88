"""Turn the markdown pages written by the benchmark scripts into RST pages.

The benchmark scripts write ``docs/*_results.md`` (and ``docs/design.md`` and
``docs/pretrained.md`` are kept in markdown beside them, readable on GitHub).
Sphinx here has no markdown parser, so on ``builder-inited`` this extension
converts each of them into ``docs/benchmarks/<name>.rst``, a generated,
git-ignored folder that ``benchmarks.rst`` lists with a glob.

Only the markdown those files use is understood: ``#`` headings, paragraphs,
pipe tables, (nested) bullet and numbered lists, fenced code blocks, images,
links, inline code, bold and italics. Anything else is kept as escaped text.
"""

from __future__ import annotations

import re
from pathlib import Path

# Titles for pages whose markdown has no level-1 heading of its own.
TITLES = {
    "ablation_results": "Ablation: our network against the paper's",
}
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".svg")
UNDERLINES = {1: "=", 2: "-", 3: "~", 4: "^", 5: '"', 6: "'"}

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_FENCE = re.compile(r"^(```+|~~~+)\s*([\w+-]*)\s*$")
_ITEM = re.compile(r"^(\s*)([-*]|\d+[.)])(\s+)(.*)$")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")
_INLINE = re.compile(
    r"(?P<code>`+)(?P<code_text>.+?)(?P=code)"
    r"|!\[(?P<img_alt>[^\]]*)\]\((?P<img_src>[^)\s]+)\)"
    r"|\[(?P<link_text>[^\]]+)\]\((?P<link_url>[^)\s]+)\)"
    r"|\*\*(?P<bold>\S(?:.*?\S)?)\*\*"
    r"|(?<![\w*])\*(?P<em>[^*\s](?:[^*]*?[^*\s])?)\*(?![\w*])"
)
# RST inline markup must start after whitespace or one of these characters
# and end before whitespace or one of these (docutils' rules, ASCII part).
_OPENERS = set(" \t-:/'\"<([{")
_CLOSERS = set(" \t-.,:;!?\\/'\")]}>")
_ENUMERATOR = re.compile(r"^(\d+|[A-Za-z]|[ivxlcdmIVXLCDM]+|#)([.)])(\s)")


# ------------------------------------------------------------------ inline
class _Context:
    """What the conversion of one markdown file needs to know."""

    def __init__(self, source: Path, pages: dict[str, str]):
        self.source = source  # the markdown file
        self.pages = pages  # markdown file name -> docname of its RST page
        self.figures: list[tuple[str, str]] = []  # images linked in a block


def escape(text: str) -> str:
    """Escape the characters RST would read as markup in plain text."""
    text = re.sub(r"\\([\\`*_|\[\]()#+\-.!<>])", r"\1", text)  # markdown escapes
    return re.sub(r"([\\`*_|])", r"\\\1", text)


def _strip_markup(text: str) -> str:
    """Plain text of inline markdown, for places RST cannot nest markup."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)
    return re.sub(r"`+|\*\*|(?<!\w)\*|\*(?!\w)", "", text)


def _add_figure(ctx: _Context, src: str, caption: str) -> None:
    """Queue an image (path relative to the markdown file) to show as a figure.

    Images outside ``docs/`` or not (yet) there are left out: the link text
    stays in the page and the build does not fail over a benchmark plot that
    has not been drawn.
    """
    root = ctx.source.parent.resolve()
    target = (root / src).resolve()
    if target.is_file() and target.is_relative_to(root):
        ctx.figures.append(("/" + target.relative_to(root).as_posix(), caption))


def _link(ctx: _Context, text: str, url: str) -> str:
    plain = _strip_markup(text)
    # inside `...` only a backquote or "<" could confuse RST
    role_text = plain.replace("`", "").replace("<", "\\<")
    if re.match(r"^[a-z][a-z0-9+.-]*://", url) or url.startswith("mailto:"):
        return f"`{role_text} <{url}>`__"
    path = url.split("#", 1)[0]
    if path.lower().endswith(IMAGE_SUFFIXES):
        _add_figure(ctx, path, plain)
        return escape(plain)
    name = Path(path).name
    if name in ctx.pages:
        if plain.strip() == name or plain.strip() == path:
            return f":doc:`/{ctx.pages[name]}`"  # the page's own title
        return f":doc:`{role_text} </{ctx.pages[name]}>`"
    return escape(plain)  # a file Sphinx does not publish: keep the words only


def inline(text: str, ctx: _Context) -> str:
    """Convert one line (or table cell) of inline markdown to RST."""
    parts: list[tuple[str, bool]] = []  # (rst, is_markup)
    pos = 0
    for match in _INLINE.finditer(text):
        if match.start() > pos:
            parts.append((escape(text[pos : match.start()]), False))
        kind = match.lastgroup
        if match.group("code"):
            code = match.group("code_text").strip()
            parts.append((f"``{code}``", True))
        elif match.group("img_src") is not None:
            _add_figure(ctx, match.group("img_src"), match.group("img_alt"))
            parts.append((escape(match.group("img_alt")), False))
        elif match.group("link_url") is not None:
            rst = _link(ctx, match.group("link_text"), match.group("link_url"))
            parts.append((rst, rst.startswith(("`", ":"))))
        elif kind == "bold" or kind == "em":
            inner = match.group(kind)
            marker = "**" if kind == "bold" else "*"
            if _INLINE.search(inner):  # RST cannot nest: drop the emphasis
                parts.append((inline(inner, ctx), False))
            else:
                parts.append((f"{marker}{escape(inner)}{marker}", True))
        pos = match.end()
    if pos < len(text):
        parts.append((escape(text[pos:]), False))

    out = ""
    for i, (rst, markup) in enumerate(parts):
        if markup:
            if out and out[-1] not in _OPENERS:
                out += "\\ "  # an escaped space: allowed start, renders as nothing
            out += rst
            following = parts[i + 1][0] if i + 1 < len(parts) else ""
            if following and following[0] not in _CLOSERS:
                out += "\\ "
        else:
            out += rst
    return out


# ------------------------------------------------------------------- blocks
def _indent(lines: list[str], width: int) -> list[str]:
    pad = " " * width
    return [pad + line if line.strip() else "" for line in lines]


def _is_block_start(line: str) -> bool:
    return bool(
        _HEADING.match(line)
        or _FENCE.match(line.strip())
        or _ITEM.match(line)
        or line.lstrip().startswith("|")
    )


def _table(rows: list[str], ctx: _Context) -> list[str]:
    def cells(row: str) -> list[str]:
        row = row.strip()
        row = row[1:] if row.startswith("|") else row
        row = row[:-1] if row.endswith("|") and not row.endswith("\\|") else row
        return [cell.strip() for cell in re.split(r"(?<!\\)\|", row)]

    header, body = cells(rows[0]), [cells(r) for r in rows[2:]]
    width = len(header)
    out = [".. list-table::", "   :header-rows: 1", "   :class: results", ""]
    for row in [header, *body]:
        row = (row + [""] * width)[:width]
        for j, cell in enumerate(row):
            text = inline(cell, ctx) if cell else ""
            bullet = "   * -" if j == 0 else "     -"
            out.append(f"{bullet} {text}".rstrip())
    return out


def _list_item_extent(lines: list[str], start: int, column: int) -> int:
    """Index just past the lines of the list item starting at ``start``."""
    i = start + 1
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            j = i
            while j < len(lines) and not lines[j].strip():
                j += 1
            if j < len(lines) and len(lines[j]) - len(lines[j].lstrip()) >= column:
                i = j
                continue
            return i
        indent = len(line) - len(line.lstrip())
        if indent < column and (_is_block_start(line) or not lines[i - 1].strip()):
            return i
        i += 1
    return i


def blocks(lines: list[str], ctx: _Context) -> list[str]:
    """Convert a run of markdown lines (one container) to RST lines."""
    out: list[str] = []
    i = 0

    def emit(rst: list[str]) -> None:
        if out and out[-1] != "":
            out.append("")
        out.extend(rst)
        for path, caption in ctx.figures:
            out.extend(["", f".. figure:: {path}", f"   :alt: {caption}", ""])
            if caption:
                out.extend([f"   {escape(caption)}", ""])
        ctx.figures.clear()

    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if not stripped:
            i += 1
            continue

        fence = _FENCE.match(stripped)
        if fence:
            indent = len(line) - len(line.lstrip())
            body = []
            i += 1
            while i < len(lines) and not lines[i].strip().startswith(fence.group(1)):
                line = lines[i]
                body.append(line[indent:] if line[:indent].isspace() else line)
                i += 1
            i += 1  # the closing fence
            language = fence.group(2) or "text"
            emit([f".. code-block:: {language}", "", *_indent(body, 3)])
            continue

        heading = _HEADING.match(line)
        if heading:
            level = len(heading.group(1))
            title = inline(heading.group(2), ctx)
            emit([title, UNDERLINES[level] * max(len(title), 3)])
            i += 1
            continue

        if (
            stripped.startswith("|")
            and i + 1 < len(lines)
            and _TABLE_RULE.match(lines[i + 1])
        ):
            rows = []
            while i < len(lines) and lines[i].strip().startswith("|"):
                rows.append(lines[i])
                i += 1
            emit(_table(rows, ctx))
            continue

        item = _ITEM.match(line)
        if item:
            rst: list[str] = []
            base = len(item.group(1))
            while i < len(lines):
                item = _ITEM.match(lines[i])
                if not item or len(item.group(1)) != base:
                    break
                marker = "-" if item.group(2) in "-*" else item.group(2)[:-1] + "."
                column = base + len(item.group(2)) + len(item.group(3))
                end = _list_item_extent(lines, i, column)
                body = [" " * column + item.group(4)] + lines[i + 1 : end]
                body = [
                    b[column:] if b[:column].isspace() else b.lstrip() for b in body
                ]
                content = blocks(body, ctx)
                width = len(marker) + 1
                rst.append(f"{marker} {content[0]}")
                rst.extend(_indent(content[1:], width))
                i = end
                # a blank line between items keeps RST happy with nested blocks
                if i < len(lines) and not lines[i].strip():
                    j = i
                    while j < len(lines) and not lines[j].strip():
                        j += 1
                    nxt = _ITEM.match(lines[j]) if j < len(lines) else None
                    if nxt and len(nxt.group(1)) == base:
                        i = j
                rst.append("")
            emit(rst[:-1])
            continue

        image = re.match(r"^!\[([^\]]*)\]\(([^)\s]+)\)$", stripped)
        if image:
            _add_figure(ctx, image.group(2), image.group(1))
            emit([] if ctx.figures else [escape(image.group(1))])
            i += 1
            continue

        paragraph = []
        while i < len(lines) and lines[i].strip():
            if paragraph and _is_block_start(lines[i]):
                break
            paragraph.append(lines[i].strip())
            i += 1
        converted = [inline(p, ctx) for p in paragraph]
        # a paragraph starting like "1. " or "A) " would become a list
        converted[0] = _ENUMERATOR.sub(r"\\\1\2\3", converted[0])
        emit(converted)
    return out


# --------------------------------------------------------------------- page
def convert(source: Path, pages: dict[str, str], title: str | None = None) -> str:
    """RST text of the markdown file ``source``."""
    lines = source.read_text(encoding="utf-8").splitlines()
    ctx = _Context(source, pages)
    has_title = any(
        _HEADING.match(line) and _HEADING.match(line).group(1) == "#" for line in lines
    )
    header = [
        f".. This file is generated from docs/{source.name} by",
        "   docs/_ext/markdown_pages.py at every build; edit the markdown.",
        "",
    ]
    if not has_title:
        title = title or source.stem.replace("_", " ").capitalize()
        header += [title, "=" * len(title), ""]
    body = blocks(lines, ctx)
    note = [
        "",
        ".. rubric:: Source",
        "",
        f"Generated from ``docs/{source.name}`` when the documentation is built.",
    ]
    return "\n".join(header + body + note) + "\n"


def markdown_sources(docs: Path, extra: list[str]) -> list[Path]:
    """The markdown files to publish: ``*_results.md`` and ``extra``."""
    found = sorted(docs.glob("*_results.md"))
    found += [docs / name for name in extra if (docs / name).exists()]
    return found


def write_pages(docs: Path, extra: list[str], folder: str = "benchmarks") -> list[str]:
    """Convert every source into ``docs/<folder>/``; return the docnames."""
    out_dir = docs / folder
    out_dir.mkdir(exist_ok=True)
    sources = markdown_sources(docs, extra)
    pages = {src.name: f"{folder}/{src.stem}" for src in sources}
    written = []
    for src in sources:
        target = out_dir / f"{src.stem}.rst"
        text = convert(src, pages, TITLES.get(src.stem))
        # rewrite only on change, so that unchanged pages are not rebuilt
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            target.write_text(text, encoding="utf-8")
        written.append(target.name)
    for stale in out_dir.glob("*.rst"):
        if stale.name not in written:
            stale.unlink()
    return [pages[src.name] for src in sources]


def _builder_inited(app) -> None:
    write_pages(Path(app.srcdir), list(app.config.markdown_pages_extra))


def setup(app):
    app.add_config_value("markdown_pages_extra", [], "env")
    app.connect("builder-inited", _builder_inited)
    return {"version": "1.0", "parallel_read_safe": True}
