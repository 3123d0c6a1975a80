"""The ``split`` stage: raw article text -> clean sentences with stable ids.

``rules`` (the splitter's regex and word tables), ``io`` (reading article files), ``clean``
(line-level cleaning into paragraphs), ``segment`` (sentences of a paragraph), ``duplicates``
(repeated sentences and pull quotes), ``stage`` (per article and per corpus, the CLI).
"""

from pipeline.core.exports import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(__name__, {
    "io": ("list_articles", "read_article"),
    "clean": ("Report",),
    "stage": ("resolve_params", "split_article", "split_corpus", "split_text"),
})
