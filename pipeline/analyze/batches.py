"""The unit of work of both ``stance analyze`` engines: a batch of articles split, scored and
attributed (:func:`score_batch`) with what a worker holds (:class:`Context`), and the
selection of ``--actor/--from/--to/--source/--target`` (:class:`Selection`)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from pipeline.analyze.actors import attribute_article, compile_actors
from pipeline.analyze.io import SENTENCE_COLUMNS, Article, check_date, check_target, norm_source
from pipeline.analyze.known import KnownLabels
from pipeline.analyze.stats import period_of
from pipeline.core.config import StanceError
from pipeline.core.data import LABELS
from pipeline.model.explain import TOP as EXPLAIN_TOP
from pipeline.model.explain import format_contributions
from pipeline.model.scorer import Scorer
from pipeline.split.io import read_article
from pipeline.split.stage import resolve_params, split_text

__all__ = ["STAT_COLUMNS", "Context", "Selection", "batches", "score_batch"]

#: Per article (and per article and actor): what the tables and their intervals are computed from.
STAT_COLUMNS = ("sentences", *LABELS, "hand", "n_model", *(f"p_{lab}" for lab in LABELS),
                *(f"h_{lab}" for lab in LABELS))

_URL = re.compile(r"^https?://\S+$", re.IGNORECASE)


@dataclass(frozen=True)
class Selection:
    """What goes into the outputs: articles by date range, source and target; sentences by actor.

    Dates are ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD`` and inclusive at the precision both
    sides have (``--to 2016`` keeps 2016-12-31; an article dated ``2016`` passes ``--from
    2016-05``). With a date bound, articles without a date are left out.
    """

    actor: str | None = None
    date_from: str | None = None
    date_to: str | None = None
    source: str | None = None
    target: str | None = None

    def __post_init__(self) -> None:
        for name in ("date_from", "date_to"):
            value = getattr(self, name)
            if value:
                check_date(value, f"--{name.split('_')[1]}")
        if self.date_from and self.date_to and self.date_from[:len(self.date_to)] > self.date_to[:len(self.date_from)]:
            raise StanceError(f"--from {self.date_from} is after --to {self.date_to}")

    @property
    def active(self) -> bool:
        return any((self.actor, self.date_from, self.date_to, self.source, self.target))

    def keeps_article(self, date: str, source: str, target: str) -> bool:
        if self.source is not None and source != self.source:
            return False
        if self.target is not None and target != self.target:
            return False
        if self.date_from or self.date_to:
            if not date:
                return False
            if self.date_from and date[:len(self.date_from)] < self.date_from[:len(date)]:
                return False
            if self.date_to and date[:len(self.date_to)] > self.date_to[:len(date)]:
                return False
        return True


class Context:
    """What a worker needs: the model, the splitter's params, the actor rule, the period kind,
    the hand labels and the selection."""

    def __init__(self, model, split_params: dict | None, who, period: str, known: KnownLabels | None = None,
                 selection: Selection | None = None) -> None:

        self.scorer = Scorer(model)
        if tuple(self.scorer.classes) != LABELS:
            raise StanceError(f"model classes {self.scorer.classes} are not {', '.join(LABELS)}")
        self.split_params = resolve_params(split_params)
        actors, issuers = who                      # (analyze.actors, analyze.issuers)
        self.rule = compile_actors(list(actors))
        self.period = period
        self.issuers = dict(issuers or {})
        self.known = known if known is not None else KnownLabels()
        self.selection = selection if selection is not None else Selection()
        self._explains = True

    def explanations(self, texts: list[str], labels: list[str]) -> list[str]:
        """The features that pushed each text towards the model's label (``word:lift +0.83, static
        +0.30``; :mod:`pipeline.model.explain`), or ``""`` for a model they are not defined for."""
        if self._explains:
            try:
                return [format_contributions(x) for x in self.scorer.explain(texts, labels, EXPLAIN_TOP)]
            except StanceError:  # not a linear model (the opt-in MiniLM block, vote, stack)
                self._explains = False
        return [""] * len(texts)


def _zero() -> dict:
    return {c: 0 for c in STAT_COLUMNS}


def _count(stats: dict, label: str, source: str, proba) -> None:
    stats["sentences"] += 1
    stats[label] += 1
    if source == "hand":
        stats["hand"] += 1
        stats[f"h_{label}"] += 1
    else:
        stats["n_model"] += 1
        for j, lab in enumerate(LABELS):
            stats[f"p_{lab}"] += float(proba[j])


def _read(art: Article) -> tuple[dict, str, int | None]:
    """An article's row (``article_id, date, source, target, title, url``), text and text offset.

    Folder inputs read the file here (in the worker): header lines (``# date:``, ``# source:``,
    ``# target:``) fill what the metadata table left empty; a ``# source:`` URL is the
    article's address. The title is the ``title`` given, else the ``# title:`` header, else
    the first line of the text.
    """
    date, source, target, title, url = art.date, art.source, art.target, art.title, art.url
    offset = None
    if art.path is not None:
        meta, text, offset = read_article(art.path)
        if not date:
            date = check_date(meta.get("date"), f"{art.path}: header '# date:'")
        if not target:
            target = check_target(meta.get("target"), f"{art.path}: header '# target:'")
        raw_source = " ".join(str(meta.get("source") or "").split())
        source = source or norm_source(raw_source)
        if not url and _URL.match(raw_source):
            url = raw_source
        title = title or " ".join(str(meta.get("title") or "").split())
    else:
        text = art.text
    if not title:
        title = " ".join(text.strip().split("\n", 1)[0].split())[:200]
    return ({"article_id": art.article_id, "date": date, "source": source, "target": target, "title": title,
             "url": url}, text, offset)


def _append(cols: dict[str, list], row: dict, s: dict, names: list[str]) -> None:
    for c in ("article_id", "date", "period", "source", "target"):
        cols[c].append(row[c])
    cols["sentence_id"].append(s["sentence_id"])
    cols["position"].append(s["position"])
    cols["text"].append(s["text"])
    cols["actors"].append(list(names))


def score_batch(articles: Iterable[Article], ctx: Context) -> tuple[dict[str, list], list[dict], list[dict]]:
    """Split, score and attribute a batch of articles (the unit of work of both engines).

    Returns ``(sentences, articles, actors)``: the sentence rows as a dict of column lists
    (:data:`SENTENCE_COLUMNS`); one row per selected article (``article_id, date, period,
    source, target, title, url`` and :data:`STAT_COLUMNS`; an article without sentences has
    zeros); one row per article and actor (``article_id, period, actor`` and
    :data:`STAT_COLUMNS`; a sentence held jointly counts for each of its actors).
    A sentence with a hand label (:class:`~pipeline.analyze.known.KnownLabels`) takes it:
    ``label_source`` ``hand``, the model's label in ``model_label``.
    """
    sel = ctx.selection
    cols: dict[str, list] = {c: [] for c in SENTENCE_COLUMNS}
    rows: list[dict] = []
    spans: list[tuple[int, int]] = []
    for art in articles:
        row, text, offset = _read(art)
        if not sel.keeps_article(row["date"], row["source"], row["target"]):
            continue
        if offset is not None:
            sents = split_text(text, art.article_id, ctx.split_params, None, offset)
        else:
            sents = split_text(text, art.article_id, ctx.split_params)
        row["period"] = period_of(row["date"], ctx.period)
        actors = attribute_article([s["text"] for s in sents], ctx.rule, ctx.issuers.get(row["source"]))
        start = len(cols["article_id"])
        for s, names in zip(sents, actors):
            if sel.actor is None or sel.actor in names:
                _append(cols, row, s, names)
        spans.append((start, len(cols["article_id"])))
        rows.append(row)
    texts = cols["text"]
    if texts:
        labels, proba = ctx.scorer.score(texts)
        cols["model_label"] = list(labels)
        cols["explain"] = ctx.explanations(texts, list(labels))
        for j, lab in enumerate(LABELS):
            cols[f"score_{lab}"] = proba[:, j].tolist()
        for sid, text, model_label in zip(cols["sentence_id"], texts, labels):
            hand = ctx.known.lookup(sid, text)
            cols["label"].append(hand or model_label)
            cols["label_source"].append("hand" if hand else "model")
    else:
        proba = None
    actor_rows: list[dict] = []
    for row, (a, b) in zip(rows, spans):
        stats = _zero()
        per_actor: dict[str, dict] = {}
        for i in range(a, b):
            label, src = cols["label"][i], cols["label_source"][i]
            _count(stats, label, src, proba[i])
            for name in cols["actors"][i]:
                if sel.actor is not None and name != sel.actor:
                    continue
                _count(per_actor.setdefault(name, _zero()), label, src, proba[i])
        row.update(stats)
        for name, st in per_actor.items():
            actor_rows.append({"article_id": row["article_id"], "period": row["period"], "actor": name, **st})
    if sel.actor is not None:
        keep = [i for i, row in enumerate(rows) if row["sentences"]]
        rows = [rows[i] for i in keep]
    return cols, rows, actor_rows


def batches(articles: Iterator[Article], size: int) -> Iterator[list[Article]]:
    batch: list[Article] = []
    for a in articles:
        batch.append(a)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
