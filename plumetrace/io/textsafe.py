"""User-supplied strings stay text in every medium: one helper per medium.

Building ids, channel names, file paths and class names come from users' files. Each output medium has one
function here that every writer uses: the terminal (rich would read ``[...]`` as markup), HTML (element text and
attributes), JSON inside an HTML ``<script>`` (a ``</script>`` must not end the script) and KML (XML text, with
CDATA sections closed).
"""

from __future__ import annotations

import html
import json

from rich.text import Text


def terminal_text(value) -> Text:
    """A rich :class:`~rich.text.Text` of ``str(value)``: printed as is, never parsed as markup.

    >>> terminal_text("[link=http://x]b7[/link]").plain
    '[link=http://x]b7[/link]'
    """
    return Text(str(value))


def html_text(value) -> str:
    """``str(value)`` escaped for HTML element text and quoted attribute values.

    >>> html_text('<img src=x onerror="alert(1)">')
    '&lt;img src=x onerror=&quot;alert(1)&quot;&gt;'
    """
    return html.escape(str(value), quote=True)


def script_json(obj, **dumps_kwargs) -> str:
    r"""JSON of ``obj`` safe to embed in an HTML ``<script>``: ``<``, ``>``, ``&`` and U+2028/9 as \u escapes.

    >>> script_json({"id": "</script>"})
    '{"id": "\\u003c/script\\u003e"}'
    """
    text = json.dumps(obj, **dumps_kwargs)
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def kml_text(value) -> str:
    """``str(value)`` as plain text for a KML name or description (markup and CDATA escaped).

    simplekml writes names and descriptions into the XML as given, and a description is HTML to the balloon
    renderer; escaping it keeps a user's ``<![CDATA[…]]>`` or ``<img onerror>`` inert text.

    >>> kml_text("]]><script>")
    ']]&gt;&lt;script&gt;'
    """
    return html.escape(str(value), quote=False)
